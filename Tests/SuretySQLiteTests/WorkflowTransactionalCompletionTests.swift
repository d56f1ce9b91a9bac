import Foundation
import GRDB
import Logging
import Surety
import SuretySQLite
import SuretyTesting
import Testing

/// A step's result written in the application's transaction with the step's completion:
/// `SQLiteStore.complete(_:stepResult:_:)`.
@Suite("Workflow step results in a transactional completion on SQLite")
struct WorkflowTransactionalCompletionTests {
    struct Paid: Codable, Sendable, Equatable {
        var orderID: String
    }

    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A store with an `orders` table, a workflow pay → ship enqueued, and the pay step claimed.
    func payStep() async throws -> (TempStore, WorkflowID, ClaimedJob, JobContext) {
        let temp = try await TempStore()
        try await temp.store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id TEXT PRIMARY KEY, paid INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO orders VALUES ('o-1', 0)")
        }
        let id = try await temp.store.enqueueWorkflow(NewWorkflow(name: "order", tenant: Fixture.acme, createdAt: t0, steps: [
            .init(name: "pay", parents: [], isCompensation: false, template: WorkflowJobTemplate(Fixture.job("test.pay"))),
            .init(name: "ship", parents: ["pay"], isCompensation: false, template: WorkflowJobTemplate(Fixture.job("test.ship"))),
        ])).id
        let claimed = try #require(try await Fixture.claim(temp.store, at: t0).first)
        return (temp, id, claimed, context(claimed, temp.store))
    }

    func context(_ job: ClaimedJob, _ store: SQLiteStore) -> JobContext {
        JobContext(
            claimed: job, clock: TestClock(now: t0.addingTimeInterval(1)), queueClient: JobQueue(store: store), dependencies: JobDependencies(),
            worker: "w1", startedAt: t0, logger: Logger(label: "test"), redactor: Redactor(secretFields: [])
        )
    }

    func paid(_ store: SQLiteStore) async throws -> Int? {
        try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT paid FROM orders WHERE id = 'o-1'") }
    }

    @Test("the step's result, its completion and the app's write commit together; the released step reads the result")
    func commitsTogether() async throws {
        let (temp, id, claimed, context) = try await payStep()
        try await temp.store.complete(context, stepResult: Paid(orderID: "o-1")) { db in
            try db.execute(sql: "UPDATE orders SET paid = 1 WHERE id = 'o-1'")
        }
        #expect(context.isCompletedInTransaction)
        #expect(try await paid(temp.store) == 1)
        let workflow = try #require(try await temp.store.workflow(id))
        #expect(workflow.step("pay")?.state == .completed && workflow.step("pay")?.result == #"{"orderID":"o-1"}"#)
        #expect(try await temp.store.job(claimed.id)?.state == .completed)
        let ship = try #require(try await Fixture.claim(temp.store, at: t0.addingTimeInterval(2)).first)
        #expect(ship.type == "test.ship")
        #expect(try await self.context(ship, temp.store).stepResult("pay", as: Paid.self) == Paid(orderID: "o-1"))
    }

    @Test("a transaction that rolls back keeps neither the result nor the completion (the app's error, then a lost lease)")
    func rollsBackTogether() async throws {
        let (temp, id, claimed, context) = try await payStep()
        struct Declined: Error {}
        await #expect(throws: Declined.self) {
            try await temp.store.complete(context, stepResult: Paid(orderID: "o-1")) { db in
                try db.execute(sql: "UPDATE orders SET paid = 1 WHERE id = 'o-1'")
                throw Declined()
            }
        }
        var workflow = try #require(try await temp.store.workflow(id))
        #expect(workflow.step("pay")?.state == .active && workflow.step("pay")?.result == nil, "no result without the completion")
        #expect(try await paid(temp.store) == 0)
        #expect(try await temp.store.job(claimed.id)?.state == .running)
        #expect(!context.isCompletedInTransaction)

        // The lease is lost (the job was rescued): the completion is refused, and the result with it.
        let rescued = Fixture.finish(claimed, at: t0.addingTimeInterval(40), outcome: .lost, next: .retry(at: t0.addingTimeInterval(41)), onlyIfExpiredBy: t0.addingTimeInterval(40))
        #expect(try await temp.store.finish([rescued]) == [.applied])
        await #expect(throws: SuretyError.self) {
            try await temp.store.complete(context, stepResult: Paid(orderID: "o-1")) { db in
                try db.execute(sql: "UPDATE orders SET paid = 1 WHERE id = 'o-1'")
            }
        }
        workflow = try #require(try await temp.store.workflow(id))
        #expect(workflow.step("pay")?.result == nil && workflow.step("ship")?.state == .waiting)
        #expect(try await paid(temp.store) == 0)
    }

    @Test("a step result for a job that is not a step is refused, and nothing is written")
    func notAStep() async throws {
        let temp = try await TempStore()
        try await temp.store.database.write { db in try db.execute(sql: "CREATE TABLE marks (n INTEGER)") }
        _ = try await temp.store.enqueue([Fixture.job()])
        let claimed = try #require(try await Fixture.claim(temp.store).first)
        let error = await #expect(throws: SuretyError.self) {
            try await temp.store.complete(self.context(claimed, temp.store), stepResult: Paid(orderID: "x")) { db in
                try db.execute(sql: "INSERT INTO marks VALUES (1)")
            }
        }
        #expect(error?.code == .invalidArgument)
        #expect(try await temp.store.job(claimed.id)?.state == .running)
        #expect(try await temp.store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM marks") } == 0)
    }

    @Test("setStepResult after the attempt completed in a transaction is refused with invalid_state, naming the fix")
    func setAfterCompletion() async throws {
        let (temp, id, _, context) = try await payStep()
        try await temp.store.complete(context) { _ in }
        let error = await #expect(throws: SuretyError.self) { try await context.setStepResult(Paid(orderID: "late")) }
        #expect(error?.code == .invalidState && error?.message.contains("stepResult:") == true)
        #expect(try await temp.store.workflow(id)?.step("pay")?.result == nil)
    }
}
