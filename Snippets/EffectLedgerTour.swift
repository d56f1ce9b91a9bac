// The effect ledger (docs/effects.md): an effect happens once per stable key, and a job's own
// writes commit with its completion. The full program is Examples/EffectLedger.
import Foundation
import GRDB
import Surety
import SuretySQLite

/// A payment provider that honours idempotency keys and can be asked what happened.
struct PaymentProvider: Sendable {
    struct Charge: Codable, Sendable { var chargeID: String; var status: Int }
    func charge(_ amount: Int, idempotencyKey: String) async throws -> Charge {
        Charge(chargeID: "ch_1", status: 200)
    }
    func lookup(idempotencyKey: String) async throws -> Charge? { nil }
}

/// The provider said no before doing anything.
struct ProviderUnavailable: Error { var status: Int }

// snippet.charge
struct ChargeOrder: Job {
    static let name = "shop.charge-order"
    static let options = JobOptions(queue: "payments", maxAttempts: 8)
    var orderID: String
    var amount: Int

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(PaymentProvider.self)
        let store = try context.dependency(SQLiteStore.self)

        // 1. check the ledger  2. perform  3. record: `effect` does all three. On a retry a
        //    confirmed charge returns its recorded result; one started but never confirmed is
        //    reconciled with the provider by the same idempotency key.
        let charge = try await context.effect(
            "charge", key: orderID,
            reconcile: { key in
                if let found = try await provider.lookup(idempotencyKey: key) { return .happened(found) }
                return .didNotHappen
            },
            perform: { key in try await provider.charge(amount, idempotencyKey: key) }
        )

        // 4. complete, in the same transaction as the job's own writes.
        let orderID = self.orderID
        try await store.complete(context) { db in
            try db.execute(sql: "UPDATE orders SET state = 'paid', charge_id = ? WHERE id = ?",
                           arguments: [charge.chargeID, orderID])
        }
    }
}
// snippet.end

struct RefundOrder: Job {
    static let name = "shop.refund-order"
    var orderID: String
    var amount: Int

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(PaymentProvider.self)
        // snippet.not-performed
        let receipt = try await context.effect("refund", key: orderID) { key in
            let response = try await provider.charge(-amount, idempotencyKey: key)
            switch response.status {
            case 200: return response
            case 429, 503: throw EffectNotPerformed(ProviderUnavailable(status: response.status))  // refused, retry
            case 402: throw EffectNotPerformed(PermanentFailure("card declined"))                   // refused, for good
            default: throw ProviderUnavailable(status: response.status)                             // may have acted: in doubt
            }
        }
        // snippet.end
        context.logger.info("refunded", metadata: ["charge": "\(receipt.chargeID)"])
    }
}

let store = try SQLiteStore(path: "shop.sqlite")
try await store.migrate()
// snippet.outbox
// The job exists if and only if the order does: one transaction.
let enqueued = try store.database.write { db in
    try db.execute(sql: "INSERT INTO orders (id, state) VALUES ('o-1', 'new')")
    return try store.enqueue(ChargeOrder(orderID: "o-1", amount: 1200), tenant: try TenantID("shop-42"), in: db)
}
// snippet.end
print("enqueued \(enqueued.id)")
