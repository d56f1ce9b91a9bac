// docs/effects.md's example: the seeds' pattern — check the ledger, perform, record, complete —
// with Surety doing the bookkeeping. Builds in CI; `swift run EffectLedgerExample` runs it.
import Foundation
import GRDB
import Surety
import SuretySQLite

/// A payment provider that honours idempotency keys and can be asked what happened.
struct PaymentProvider: Sendable {
    struct Charge: Codable, Sendable { var chargeID: String; var amount: Int }
    func charge(_ amount: Int, idempotencyKey: String) async throws -> Charge {
        Charge(chargeID: "ch_\(abs(idempotencyKey.hashValue % 100_000))", amount: amount)
    }
    func lookup(idempotencyKey: String) async throws -> Charge? { nil }
}

struct ChargeOrder: Job {
    static let name = "shop.charge-order"
    static let options = JobOptions(queue: "payments", maxAttempts: 8)
    var orderID: String
    var amount: Int

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(PaymentProvider.self)
        let store = try context.dependency(SQLiteStore.self)

        // 1. Check the ledger, 2. perform, 3. record: `effect` does all three. On a retry a
        //    confirmed charge returns its recorded result; a charge started but never confirmed is
        //    reconciled with the provider by the same idempotency key.
        let charge = try await context.effect(
            "charge", key: orderID,
            reconcile: { key in
                if let found = try await provider.lookup(idempotencyKey: key) { return .happened(found) }
                return .didNotHappen
            },
            perform: { key in try await provider.charge(amount, idempotencyKey: key) }
        )

        // 4. Complete: the order's new state and the job's completion commit in one transaction.
        let orderID = self.orderID
        try await store.complete(context) { db in
            try db.execute(sql: "UPDATE orders SET state = 'paid', charge_id = ? WHERE id = ?", arguments: [charge.chargeID, orderID])
        }
    }
}

@main
struct EffectLedgerExample {
    static func main() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("surety-effects-example.sqlite").path
        try? FileManager.default.removeItem(atPath: path)
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        // Enqueue inside the application's own transaction: the job exists iff the order does.
        try await store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id TEXT PRIMARY KEY, state TEXT NOT NULL, charge_id TEXT)")
            try db.execute(sql: "INSERT INTO orders (id, state) VALUES ('o-1', 'new')")
            let payload = try JobCoding.encode(ChargeOrder(orderID: "o-1", amount: 1200))
            let now = Date()
            try store.enqueue([NewJob(type: ChargeOrder.name, queue: "payments", priority: 0, tenant: try TenantID("shop-42"),
                                      payload: payload, runAt: now, enqueuedAt: now, maxAttempts: 8)], in: db)
        }
        var dependencies = JobDependencies()
        dependencies.register(PaymentProvider())
        dependencies.register(store)
        let worker = Worker(store: store, registry: JobRegistry([ChargeOrder.self]),
                            configuration: WorkerConfiguration(queues: ["payments"], onEvent: { event in
                                if case .attemptFinished = event { print("attempt finished: \(event)") }
                            }),
                            dependencies: dependencies)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            while try await store.jobs(JobFilter(states: [.completed])).isEmpty {
                try await Task.sleep(for: .milliseconds(50))
            }
            worker.beginDrain()
            try await group.waitForAll()
        }
        let state = try await store.database.read { db in try String.fetchOne(db, sql: "SELECT state FROM orders WHERE id = 'o-1'") }
        print("order o-1 is \(state ?? "missing")")
    }
}
