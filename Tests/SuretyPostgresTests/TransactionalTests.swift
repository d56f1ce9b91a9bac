import Foundation
import Logging
import PostgresNIO
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Testing

/// The application's own database access: its own pool (default search_path), its tables in its
/// own schema.
struct AppDatabase: Sendable {
    let client: PostgresClient
    let schema: String

    func balances() async throws -> [String: Int] {
        let rows = try await client.query("SELECT id, balance FROM \(unescaped: schema).accounts").collect {
            (try $0[0].decode(String.self), try $0[1].decode(Int.self))
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    func count(_ table: String) async throws -> Int {
        try await client.query("SELECT count(*) FROM \(unescaped: schema).\(unescaped: table)").collect { try $0[0].decode(Int.self) }[0]
    }

    /// Runs `body` with an application pool and schema (accounts a=100, b=0; orders empty).
    static func with<T>(_ store: PostgresStore, _ body: (AppDatabase) async throws -> T) async throws -> T {
        let c = store.configuration
        var configuration = PostgresClient.Configuration(host: c.host, port: c.port, username: c.username, password: c.password, database: c.database, tls: .disable)
        configuration.options.maximumConnections = 4
        let client = PostgresClient(configuration: configuration)
        let app = AppDatabase(client: client, schema: "app_" + TestServer.freshSchema())
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query("CREATE SCHEMA \(unescaped: app.schema)")
            try await client.query("CREATE TABLE \(unescaped: app.schema).accounts (id text PRIMARY KEY, balance int NOT NULL)")
            try await client.query("CREATE TABLE \(unescaped: app.schema).orders (id int PRIMARY KEY)")
            try await client.query("INSERT INTO \(unescaped: app.schema).accounts VALUES ('a', 100), ('b', 0)")
            do {
                let value = try await body(app)
                try await client.query("DROP SCHEMA \(unescaped: app.schema) CASCADE")
                return value
            } catch {
                _ = try? await client.query("DROP SCHEMA \(unescaped: app.schema) CASCADE")
                throw error
            }
        }
    }
}

struct Declined: Error {}

/// Moves money in the application's tables and completes in the same transaction.
struct PGTransfer: Job {
    static let name = "test.pg-transfer"
    static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(1)))
    enum Mode: String, Codable, Sendable {
        /// `store.complete(context, in: app.client) { ... }`
        case inClient
        /// `app.client.withTransaction { ...; store.complete(context, on:) }`
        case onConnection
        /// as `onConnection`, then the application throws: its transaction rolls back.
        case onConnectionThenThrow
        /// `complete(context, on:)` on a connection outside any transaction.
        case outsideTransaction
    }
    var amount: Int
    var mode: Mode
    var waitAtGate: Bool

    func run(_ context: JobContext) async throws {
        if waitAtGate && context.attempt == 1 { await (try context.dependency(Gate.self)).wait() }
        let store = try context.dependency(PostgresStore.self)
        let app = try context.dependency(AppDatabase.self)
        let (amount, schema, logger) = (self.amount, app.schema, context.logger)
        let transfer = { (connection: PostgresConnection) async throws in
            try await connection.query("SET LOCAL search_path TO \(unescaped: schema)", logger: logger)
            try await connection.query("UPDATE accounts SET balance = balance - \(amount) WHERE id = 'a'", logger: logger)
            try await connection.query("UPDATE accounts SET balance = balance + \(amount) WHERE id = 'b'", logger: logger)
        }
        switch mode {
        case .inClient:
            try await store.complete(context, in: app.client) { connection in try await transfer(connection) }
        case .onConnection, .onConnectionThenThrow:
            try await app.client.withTransaction(logger: logger) { connection in
                try await transfer(connection)
                try await store.complete(context, on: connection)
                // The application's search_path is back: its unqualified names still resolve.
                try await connection.query("INSERT INTO orders VALUES (1)", logger: logger)
                if mode == .onConnectionThenThrow { throw Declined() }
            }
        case .outsideTransaction:
            try await app.client.withConnection { connection in try await store.complete(context, on: connection) }
        }
    }
}

// Needs a server: see TestServer (Support.swift) for how to run these tests locally.
@Suite("PostgreSQL enqueue and completion in the application's transaction", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresTransactionalTests {
    @Test("enqueue on the application's connection commits with its write, and disappears with its rollback")
    func transactionalEnqueue() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let signals = store.availabilitySignals()
                let logger = Logger(label: "test")
                let enqueued = try await app.client.withTransaction(logger: logger) { connection in
                    try await connection.query("SET LOCAL search_path TO \(unescaped: app.schema)", logger: logger)
                    try await connection.query("INSERT INTO orders VALUES (1)", logger: logger)
                    let enqueued = try await store.enqueue([.test(key: "order-1")], on: connection)
                    // The application's search_path is back after the call.
                    try await connection.query("INSERT INTO orders VALUES (2)", logger: logger)
                    return enqueued
                }
                #expect(enqueued.count == 1 && enqueued[0].inserted)
                #expect(try await store.job(enqueued[0].id)?.type == "test.job")
                #expect(try await app.count("orders") == 2)
                // Workers hear of it through the NOTIFY delivered at commit.
                _ = try await withTimeout(30, "the wake-up after the commit") {
                    var iterator = signals.makeAsyncIterator()
                    return await iterator.next() != nil
                }

                // postgres-nio wraps the closure's error after rolling back.
                let rolledBack = await #expect(throws: PostgresTransactionError.self) {
                    try await app.client.withTransaction(logger: logger) { connection in
                        try await connection.query("INSERT INTO \(unescaped: app.schema).orders VALUES (3)", logger: logger)
                        let inside = try await store.enqueue([.test(key: "order-3")], on: connection)
                        #expect(inside[0].inserted)
                        throw Declined()
                    }
                }
                #expect(rolledBack?.closureError is Declined)
                #expect(try await app.count("orders") == 2)
                // The rolled-back job never existed and never held its key.
                let again = try await store.enqueue([.test(key: "order-3")])
                #expect(again[0].inserted)
                #expect(try await store.enqueue([.test(key: "order-1")])[0].id == enqueued[0].id, "the committed job holds its key")

                // Outside a transaction it commits on its own.
                let alone = try await app.client.withConnection { connection in try await store.enqueue([.test()], on: connection) }
                #expect(try await store.job(alone[0].id) != nil)
            }
        }
    }

    func worker(_ store: PostgresStore, _ app: AppDatabase, clock: TestClock, events: EventRecorder, gate: Gate) -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(store)
        dependencies.register(app)
        dependencies.register(gate)
        return Worker(
            store: store, registry: JobRegistry([PGTransfer.self]),
            configuration: WorkerConfiguration(concurrency: 2, leaseDuration: .seconds(10), heartbeatInterval: .seconds(100_000), rescueInterval: nil, workerID: "w1", onEvent: events.record),
            dependencies: dependencies, clock: clock, logger: LogCapture().logger()
        )
    }

    /// Runs one job to its first finished attempt (plus `during`, with the worker running).
    func runOne(_ job: PGTransfer, _ store: PostgresStore, _ app: AppDatabase, clock: TestClock = TestClock(), gate: Gate = Gate(),
                during: (JobID, EventRecorder) async throws -> Void = { _, _ in }) async throws -> (JobID, WorkerEvent) {
        let events = EventRecorder()
        let id = try await JobQueue(store: store, clock: clock).enqueue(job, tenant: .system).id
        let w = worker(store, app, clock: clock, events: events, gate: gate)
        let finished = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await w.run() }
            try await during(id, events)
            let finished = try await events.first { if case .attemptFinished(id, 1, _, _, _) = $0 { true } else { false } }
            w.beginDrain()
            try await group.waitForAll()
            return finished
        }
        return (id, finished)
    }

    @Test("completion in the application's transaction commits with its writes; the worker writes nothing more", arguments: [PGTransfer.Mode.inClient, .onConnection])
    func completesTogether(mode: PGTransfer.Mode) async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let (id, finished) = try await runOne(PGTransfer(amount: 30, mode: mode, waitAtGate: false), store, app)
                guard case .attemptFinished(_, _, .succeeded, .completed, .applied) = finished else { Issue.record("unexpected \(finished)"); return }
                #expect(try await app.balances() == ["a": 70, "b": 30])
                let record = try #require(try await store.job(id))
                #expect(record.state == .completed && record.attempt == 1)
                #expect(try await store.attempts(of: id).map(\.outcome) == [.succeeded])
            }
        }
    }

    @Test("a stale lease makes the application's transaction fail: its writes roll back with the refused completion")
    func staleLeaseRollsBack() async throws {
        // The lease expires on the test clock: leases on the callers' clock.
        try await TestServer.withFreshStore(leaseClock: .caller) { store in
            try await AppDatabase.with(store) { app in
                let clock = TestClock()
                let gate = Gate()
                let (id, late) = try await runOne(PGTransfer(amount: 30, mode: .onConnection, waitAtGate: true), store, app, clock: clock, gate: gate) { id, events in
                    try await events.first { if case .attemptStarted(id, 1, _) = $0 { true } else { false } }
                    // The paused attempt's lease expires and the rescuer takes the job back for a retry.
                    clock.advance(by: .seconds(11))
                    let rescued = try await LeaseRescuer.rescueOnce(store: store, registry: JobRegistry([PGTransfer.self]), clock: clock, logger: LogCapture().logger())
                    #expect(rescued == 1)
                    gate.open()
                }
                guard case .attemptFinished(_, _, _, _, .leaseLost) = late else { Issue.record("the late attempt should be refused, got \(late)"); return }
                #expect(try await app.balances() == ["a": 100, "b": 0], "the transfer rolled back with the refused completion")
                #expect(try await app.count("orders") == 0)
                let record = try #require(try await store.job(id))
                #expect(record.state == .retrying && record.attempt == 1)
            }
        }
    }

    @Test("an application transaction that rolls back after complete(on:) leaves the attempt to the worker, which records the failure")
    func rolledBackCompletionIsNotCounted() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let (id, finished) = try await runOne(PGTransfer(amount: 30, mode: .onConnectionThenThrow, waitAtGate: false), store, app)
                guard case .attemptFinished(_, _, .failed, .retry, .applied) = finished else { Issue.record("unexpected \(finished)"); return }
                #expect(try await app.balances() == ["a": 100, "b": 0])
                let record = try #require(try await store.job(id))
                #expect(record.state == .retrying && record.lastError?.type == "PostgresTransactionError")
            }
        }
    }

    @Test("complete(on:) outside a transaction is refused with a clear error")
    func completeNeedsATransaction() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let (id, finished) = try await runOne(PGTransfer(amount: 30, mode: .outsideTransaction, waitAtGate: false), store, app)
                guard case .attemptFinished(_, _, .failed, _, .applied) = finished else { Issue.record("unexpected \(finished)"); return }
                let record = try #require(try await store.job(id))
                #expect(record.lastError?.message.contains("must run inside the application's transaction") == true, "\(String(describing: record.lastError))")
                #expect(try await app.balances() == ["a": 100, "b": 0])
            }
        }
    }
}
