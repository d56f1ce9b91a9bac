import Foundation
import GRDB
import Surety
import SuretySQLite
import SuretyTesting
import Synchronization
import Testing

/// Workflows run by a real worker on a real SQLite file, with an injected clock.
@Suite("Workflows on SQLite")
struct WorkflowRunTests {
    /// Counts runs per step, shared with the jobs.
    final class Runs: Sendable {
        let counts = Mutex<[String: Int]>([:])
        func increment(_ step: String) -> Int { counts.withLock { $0[step, default: 0] += 1; return $0[step]! } }
        func value(_ step: String) -> Int { counts.withLock { $0[step, default: 0] } }
    }

    struct Debit: Job {
        static let name = "test.workflow-debit"
        var amount: Int
        func run(_ context: JobContext) async throws {
            _ = try context.dependency(Runs.self).increment("debit")
            // The step completes inside the application's transaction with its result: its
            // dependants are released in that same transaction and read the result.
            let store = try context.dependency(SQLiteStore.self)
            try await store.complete(context, stepResult: ["debited": amount]) { db in
                try db.execute(sql: "UPDATE accounts SET balance = balance - ? WHERE id = 'a'", arguments: [amount])
            }
        }
    }

    struct Follow: Job {
        static let name = "test.workflow-follow"
        static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(2)))
        var step: String
        var failOnce = false
        func run(_ context: JobContext) async throws {
            let run = try context.dependency(Runs.self).increment(step)
            if failOnce && run == 1 { throw URLError(.timedOut) }
            let parents = try await context.parentResults()
            try await context.setStepResult(parents.keys.sorted())
        }
    }

    @Test("a step completed in the application's transaction releases its dependants; a failed step retries alone; fan-in reads both parents")
    func runsToCompletion() async throws {
        let temp = try await TempStore()
        let store = temp.store
        try await store.database.write { db in
            try db.execute(sql: "CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO accounts VALUES ('a', 100)")
        }
        let clock = TestClock()
        let runs = Runs()
        var dependencies = JobDependencies()
        dependencies.register(store)
        dependencies.register(runs)
        let registry = JobRegistry([Debit.self, Follow.self])
        var workflow = try Workflow("settle")
        try workflow.step("debit", Debit(amount: 30))
        try workflow.step("notify", Follow(step: "notify", failOnce: true), after: ["debit"])
        try workflow.step("audit", Follow(step: "audit"), after: ["debit"])
        try workflow.step("close", Follow(step: "close"), after: ["notify", "audit"])
        try workflow.compensation("refund", Follow(step: "refund"))
        let id = try await JobQueue(store: store, registry: registry, clock: clock).enqueue(workflow, tenant: try TenantID("acme")).id

        let worker = Worker(
            store: store, registry: registry,
            configuration: WorkerConfiguration(concurrency: 4, leaseDuration: .seconds(30), rescueInterval: nil, workerID: "w1"),
            dependencies: dependencies, clock: clock, logger: LogCapture().logger()
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            try await eventually("the workflow ends", timeout: .seconds(120)) {
                clock.advance(by: .seconds(1))
                guard let record = try await store.workflow(id) else { return false }
                return record.state.isTerminal && record.steps.allSatisfy(\.state.isTerminal)
            }
            worker.beginDrain()
            try await group.waitForAll()
        }
        let record = try #require(try await store.workflow(id))
        #expect(record.state == .completed, "\(record.steps.map { "\($0.name)=\($0.state)" })")
        #expect(runs.value("debit") == 1 && runs.value("audit") == 1 && runs.value("close") == 1 && runs.value("refund") == 0)
        #expect(runs.value("notify") == 2, "the failed step ran again, alone")
        #expect(record.step("debit")?.result == #"{"debited":30}"#)
        #expect(record.step("close")?.result == #"["audit","notify"]"#, "the fan-in step read both parents' results")
        let balance = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT balance FROM accounts WHERE id = 'a'") }
        #expect(balance == 70)
        #expect(try await store.workflows(WorkflowFilter(states: [.completed])).map(\.id) == [id])
    }
}
