import Foundation
import Logging
import PostgresNIO
import Surety
import SuretyPostgres
import SuretyTesting
import Testing

/// A step's result written in the application's PostgreSQL transaction with the step's
/// completion: `PostgresStore.complete(_:stepResult:in:_:)` and `complete(_:stepResult:on:)`.
@Suite("Workflow step results in a transactional completion on PostgreSQL", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresWorkflowTransactionalCompletionTests {
    typealias Fixtures = StoreConformance.Fixtures
    struct Paid: Codable, Sendable, Equatable {
        var amount: Int
    }

    let t0 = Fixtures.t0
    let logger = Logger(label: "test")

    /// A workflow pay → ship enqueued and its pay step claimed.
    func payStep(_ store: PostgresStore) async throws -> (WorkflowID, ClaimedJob, JobContext) {
        let id = try await store.enqueueWorkflow(NewWorkflow(name: "order", tenant: Fixtures.acme, createdAt: t0, steps: [
            .init(name: "pay", parents: [], isCompensation: false, template: WorkflowJobTemplate(Fixtures.job("test.pay"))),
            .init(name: "ship", parents: ["pay"], isCompensation: false, template: WorkflowJobTemplate(Fixtures.job("test.ship"))),
        ])).id
        let claimed = try #require(try await Fixtures.claim(store, at: t0).first)
        return (id, claimed, context(claimed, store))
    }

    func context(_ job: ClaimedJob, _ store: PostgresStore) -> JobContext {
        JobContext(
            claimed: job, clock: TestClock(now: t0.addingTimeInterval(1)), queueClient: JobQueue(store: store), dependencies: JobDependencies(),
            worker: "w1", startedAt: t0, logger: Logger(label: "test"), redactor: Redactor(secretFields: [])
        )
    }

    @Test("the step's result, its completion and the app's write commit together; the released step reads the result")
    func commitsTogether() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let (id, claimed, context) = try await payStep(store)
                let schema = app.schema
                try await store.complete(context, stepResult: Paid(amount: 30), in: app.client) { connection in
                    try await connection.query("UPDATE \(unescaped: schema).accounts SET balance = balance - 30 WHERE id = 'a'", logger: logger)
                }
                #expect(try await app.balances() == ["a": 70, "b": 0])
                let workflow = try #require(try await store.workflow(id))
                #expect(workflow.step("pay")?.state == .completed && workflow.step("pay")?.result == #"{"amount":30}"#)
                #expect(try await store.job(claimed.id)?.state == .completed)
                let ship = try #require(try await Fixtures.claim(store, at: t0.addingTimeInterval(2)).first)
                #expect(try await self.context(ship, store).stepResult("pay", as: Paid.self) == Paid(amount: 30))
            }
        }
    }

    @Test("an application transaction that rolls back keeps neither the result nor the completion")
    func rollsBackTogether() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let (id, claimed, context) = try await payStep(store)
                let (schema, logger) = (app.schema, logger)
                try await app.client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query("UPDATE \(unescaped: schema).accounts SET balance = balance - 30 WHERE id = 'a'", logger: logger)
                    try await store.complete(context, stepResult: Paid(amount: 30), on: connection)
                    // Before the application commits, another step cannot see the result: it is
                    // in the same transaction as the completion.
                    let early = try await store.workflow(id)
                    #expect(early?.step("pay")?.result == nil && early?.step("pay")?.state == .active)
                    // Setting it again now would wait on the application's own row lock: refused at once.
                    let late = await #expect(throws: SuretyError.self) { try await context.setStepResult(Paid(amount: 1)) }
                    #expect(late?.code == .invalidState)
                    try await connection.query("ROLLBACK", logger: logger)
                }
                let workflow = try #require(try await store.workflow(id))
                #expect(workflow.step("pay")?.state == .active && workflow.step("pay")?.result == nil, "no result without the completion")
                #expect(workflow.step("ship")?.state == .waiting)
                #expect(try await store.job(claimed.id)?.state == .running)
                #expect(try await app.balances() == ["a": 100, "b": 0])
                #expect(await context.resolvedCompletionInTransaction() == nil, "the worker learns the completion did not commit")
            }
        }
    }

    @Test("a step result for a job that is not a step is refused before anything is written; the application's transaction goes on")
    func notAStep() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                _ = try await store.enqueue([Fixtures.job()])
                let claimed = try #require(try await Fixtures.claim(store, at: t0).first)
                let stepless = self.context(claimed, store)
                let (schema, logger) = (app.schema, logger)
                try await app.client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query("INSERT INTO \(unescaped: schema).orders VALUES (1)", logger: logger)
                    let error = await #expect(throws: SuretyError.self) { try await store.complete(stepless, stepResult: Paid(amount: 1), on: connection) }
                    #expect(error?.code == .invalidArgument)
                    try await connection.query("INSERT INTO \(unescaped: schema).orders VALUES (2)", logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                }
                #expect(try await app.count("orders") == 2)
                #expect(try await store.job(claimed.id)?.state == .running)
            }
        }
    }
}
