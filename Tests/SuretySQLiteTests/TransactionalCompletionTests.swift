import Foundation
import GRDB
import Surety
import SuretySQLite
import SuretyTesting
import Synchronization
import Testing

/// The job's own writes and its completion commit in one SQLite transaction, fenced on the lease.
@Suite("Transactional completion on SQLite")
struct TransactionalCompletionTests {

    struct Transfer: Job {
        static let name = "test.transfer"
        static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(1)))
        var from: String
        var to: String
        var amount: Int
        var waitAtGate: Bool

        func run(_ context: JobContext) async throws {
            if waitAtGate && context.attempt == 1 { await (try context.dependency(Gate.self)).wait() }
            let store = try context.dependency(SQLiteStore.self)
            let (from, to, amount) = (self.from, self.to, self.amount)
            try await store.complete(context) { db in
                let balance = try Int.fetchOne(db, sql: "SELECT balance FROM accounts WHERE id = ?", arguments: [from]) ?? 0
                try db.execute(sql: "UPDATE accounts SET balance = balance - ? WHERE id = ?", arguments: [amount, from])
                if balance < amount { throw PermanentFailure("insufficient funds in \(from)") }
                try db.execute(sql: "UPDATE accounts SET balance = balance + ? WHERE id = ?", arguments: [amount, to])
            }
        }
    }

    func makeStore() async throws -> (SQLiteStore, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("surety-txn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: folder.appendingPathComponent("jobs.sqlite").path)
        try await store.migrate()
        try await store.database.write { db in
            try db.execute(sql: "CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO accounts VALUES ('a', 100), ('b', 0)")
        }
        return (store, folder)
    }

    func balances(_ store: SQLiteStore) async throws -> [String: Int] {
        try await store.database.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, balance FROM accounts").map { ($0["id"] as String, $0["balance"] as Int) })
        }
    }

    func worker(_ store: SQLiteStore, id: String, clock: TestClock, events: EventRecorder, gate: Gate, concurrency: Int = 2) -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(store)
        dependencies.register(gate)
        return Worker(
            store: store, registry: JobRegistry([Transfer.self]),
            configuration: WorkerConfiguration(concurrency: concurrency, leaseDuration: .seconds(10), heartbeatInterval: .seconds(100_000), rescueInterval: nil, workerID: id, onEvent: events.record),
            dependencies: dependencies, clock: clock, logger: LogCapture().logger()
        )
    }

    @Test("the app's writes and the completion commit together; the worker writes nothing more")
    func commitsTogether() async throws {
        let (store, folder) = try await makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = TestClock()
        let events = EventRecorder()
        let gate = Gate()
        let id = try await JobQueue(store: store, clock: clock).enqueue(Transfer(from: "a", to: "b", amount: 30, waitAtGate: false), tenant: .system).id
        let w = worker(store, id: "w1", clock: clock, events: events, gate: gate)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await w.run() }
            let finished = try await events.first { if case .attemptFinished(id, _, _, _, _) = $0 { true } else { false } }
            guard case .attemptFinished(_, _, .succeeded, .completed, .applied) = finished else { Issue.record("unexpected \(finished)"); return }
            w.beginDrain()
            try await group.waitForAll()
        }
        #expect(try await balances(store) == ["a": 70, "b": 30])
        let record = try #require(try await store.job(id))
        #expect(record.state == .completed && record.attempt == 1)
        #expect(try await store.attempts(of: id).map(\.outcome) == [.succeeded])
    }

    @Test("if the lease was lost before the transaction, the app's writes roll back with it")
    func rollsBackWhenLeaseLost() async throws {
        let (store, folder) = try await makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = TestClock()
        let events = EventRecorder()
        let gate = Gate()
        let id = try await JobQueue(store: store, clock: clock).enqueue(Transfer(from: "a", to: "b", amount: 30, waitAtGate: true), tenant: .system).id
        let paused = worker(store, id: "paused", clock: clock, events: events, gate: gate, concurrency: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await paused.run() }
            try await events.first { if case .attemptStarted(id, 1, _) = $0 { true } else { false } }
            // The paused worker's lease expires and the rescuer takes the job back for a retry.
            clock.advance(by: .seconds(11))
            let rescued = try await LeaseRescuer.rescueOnce(store: store, registry: JobRegistry([Transfer.self]), clock: clock, logger: LogCapture().logger())
            #expect(rescued == 1)
            gate.open()
            let late = try await events.first { if case .attemptFinished(id, 1, _, _, _) = $0 { true } else { false } }
            guard case .attemptFinished(_, _, _, _, .leaseLost) = late else { Issue.record("the late attempt should be refused, got \(late)"); return }
            paused.beginDrain()
            try await group.waitForAll()
        }
        #expect(try await balances(store) == ["a": 100, "b": 0], "the transfer rolled back with the refused completion")
        let record = try #require(try await store.job(id))
        #expect(record.state == .retrying && record.attempt == 1)
    }

    @Test("the application's own error inside the transaction rolls it back and keeps its class")
    func applicationErrorPassesThrough() async throws {
        let (store, folder) = try await makeStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = TestClock()
        let events = EventRecorder()
        let id = try await JobQueue(store: store, clock: clock).enqueue(Transfer(from: "a", to: "b", amount: 500, waitAtGate: false), tenant: .system).id
        let w = worker(store, id: "w1", clock: clock, events: events, gate: Gate())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await w.run() }
            try await events.first { if case .attemptFinished(id, _, _, _, _) = $0 { true } else { false } }
            w.beginDrain()
            try await group.waitForAll()
        }
        let record = try #require(try await store.job(id))
        #expect(record.state == .dead && record.deadReason == .permanentError, "a PermanentFailure stays permanent, got \(record.state) \(String(describing: record.deadReason))")
        #expect(record.lastError?.type == "PermanentFailure")
        #expect(try await balances(store) == ["a": 100, "b": 0], "the debit rolled back")
    }
}
