import Foundation
import Logging
import PostgresNIO
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Testing

/// A receipt with options of its own: the queue, attempts and unique scope a typed enqueue must take.
struct PGOrderReceipt: Job {
    static let name = "test.pg-order-receipt"
    static let options = JobOptions(queue: "email", maxAttempts: 4, uniqueScope: .forever)
    var orderID: Int
    var uniqueKey: String? { "receipt:\(orderID)" }
    func run(_ context: JobContext) async throws {}
}

// Needs a server: see TestServer (Support.swift) for how to run these tests locally.
@Suite("PostgreSQL typed enqueue inside the application's transaction", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresTypedTransactionalEnqueueTests {
    let acme = try! TenantID("acme")
    let logger = Logger(label: "test")

    @Test("a transaction that rolls back leaves no job; one that commits leaves exactly one, with the type's queue, attempts and unique scope")
    func rollbackAndCommit() async throws {
        try await TestServer.withFreshStore { store in
            try await AppDatabase.with(store) { app in
                let clock = TestClock()
                let queue = JobQueue(store: store, clock: clock)
                let logger = logger
                let acme = acme
                // store.transaction(in:): the body's own error comes back unchanged, and rolls back.
                await #expect(throws: Declined.self) {
                    try await store.transaction(in: app.client) { connection in
                        try await connection.query("INSERT INTO \(unescaped: app.schema).orders VALUES (1)", logger: logger)
                        let typed = try await store.enqueue(PGOrderReceipt(orderID: 1), tenant: acme, clock: clock, on: connection)
                        let built = try await store.enqueue([queue.newJob(PGOrderReceipt(orderID: 2), tenant: acme)], on: connection)
                        #expect(typed.inserted && built[0].inserted)
                        throw Declined()
                    }
                }
                #expect(try await store.jobs(JobFilter()).isEmpty)
                #expect(try await app.count("orders") == 0)

                let enqueued = try await store.transaction(in: app.client) { connection in
                    try await connection.query("INSERT INTO \(unescaped: app.schema).orders VALUES (1)", logger: logger)
                    return try await store.enqueue(PGOrderReceipt(orderID: 1), tenant: acme, clock: clock, on: connection)
                }
                #expect(enqueued.inserted)
                let jobs = try await store.jobs(JobFilter())
                #expect(jobs.count == 1)
                let job = try #require(jobs.first)
                #expect(job.id == enqueued.id && job.type == PGOrderReceipt.name && job.tenant == acme)
                #expect(job.queue == "email" && job.maxAttempts == 4 && job.uniqueScope == .forever && job.uniqueKey == "receipt:1")
                #expect(job.enqueuedAt == clock.now() && job.state == .available)
                #expect(try await app.count("orders") == 1)
                let stored = try await JobTesting.enqueued(PGOrderReceipt.self, in: store, tenant: acme)
                #expect(stored.map(\.job.orderID) == [1])

                // The one-line form with newJob, and per-call unique options honoured.
                let options = EnqueueOptions(uniqueKey: "call-key", queue: "bulk", uniqueScope: .whileActive)
                let second = try await store.transaction(in: app.client) { connection in
                    try await store.enqueue([queue.newJob(PGOrderReceipt(orderID: 2), tenant: acme, options: options)], on: connection)
                }
                let other = try #require(try await store.job(second[0].id))
                #expect(other.uniqueKey == "call-key" && other.uniqueScope == .whileActive && other.queue == "bulk" && other.maxAttempts == 4)
                let again = try await store.transaction(in: app.client) { connection in
                    try await store.enqueue(PGOrderReceipt(orderID: 3), tenant: acme, options: options, clock: clock, on: connection)
                }
                #expect(!again.inserted && again.id == second[0].id, "the per-call key is held in the tenant")
                #expect(try await store.jobs(JobFilter()).count == 2)
            }
        }
    }
}
