import Foundation
import GRDB
import Surety
import SuretySQLite
import SuretyTesting
import Testing

/// A receipt with options of its own: the queue, attempts and unique scope a typed enqueue must take.
struct OrderReceipt: Job {
    static let name = "test.order-receipt"
    static let options = JobOptions(queue: "email", maxAttempts: 4, uniqueScope: .forever)
    var orderID: Int
    var uniqueKey: String? { "receipt:\(orderID)" }
    func run(_ context: JobContext) async throws {}
}

@Suite("Typed enqueue inside the application's GRDB transaction")
struct TypedTransactionalEnqueueTests {
    let acme = try! TenantID("acme")

    /// A store with the application's own table in the same file.
    func storeWithOrders() async throws -> TempStore {
        let temp = try await TempStore()
        try await temp.store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
        }
        return temp
    }

    struct PaymentDeclined: Error {}

    @Test("a transaction that rolls back leaves no job, with the typed form and with newJob")
    func rollback() async throws {
        let temp = try await storeWithOrders()
        let store = temp.store
        let queue = JobQueue(store: store, clock: TestClock())
        await #expect(throws: PaymentDeclined.self) {
            try await store.database.write { db in
                try db.execute(sql: "INSERT INTO orders (id, total) VALUES (1, 10)")
                let typed = try store.enqueue(OrderReceipt(orderID: 1), tenant: acme, in: db)
                let built = try store.enqueue([queue.newJob(OrderReceipt(orderID: 2), tenant: acme)], in: db)
                #expect(typed.inserted && built[0].inserted)
                throw PaymentDeclined()
            }
        }
        #expect(try await store.jobs(JobFilter()).isEmpty)
        #expect(try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM orders") } == 0)
        // The keys were never held.
        #expect(try await queue.enqueue(OrderReceipt(orderID: 1), tenant: acme).inserted)
    }

    @Test("a transaction that commits leaves exactly one job, with the type's queue, attempts and unique scope")
    func commit() async throws {
        let temp = try await storeWithOrders()
        let store = temp.store
        let clock = TestClock()
        let enqueued = try await store.database.write { db in
            try db.execute(sql: "INSERT INTO orders (id, total) VALUES (1, 10)")
            return try store.enqueue(OrderReceipt(orderID: 1), tenant: acme, clock: clock, in: db)
        }
        #expect(enqueued.inserted)
        let jobs = try await store.jobs(JobFilter())
        #expect(jobs.count == 1)
        let job = try #require(jobs.first)
        #expect(job.id == enqueued.id && job.type == OrderReceipt.name && job.tenant == acme)
        #expect(job.queue == "email" && job.maxAttempts == 4 && job.uniqueScope == .forever && job.uniqueKey == "receipt:1")
        #expect(job.enqueuedAt == clock.now() && job.state == .available)
        let stored = try await JobTesting.enqueued(OrderReceipt.self, in: store, tenant: acme)
        #expect(stored.map(\.job.orderID) == [1])

        // The one-line form with newJob builds the same row.
        let queue = JobQueue(store: store, clock: clock)
        let second = try await store.database.write { db in
            try db.execute(sql: "INSERT INTO orders (id, total) VALUES (2, 20)")
            return try store.enqueue([queue.newJob(OrderReceipt(orderID: 2), tenant: acme)], in: db)
        }
        let other = try #require(try await store.job(second[0].id))
        #expect(other.queue == "email" && other.maxAttempts == 4 && other.uniqueScope == .forever && other.uniqueKey == "receipt:2")
        #expect(try await store.jobs(JobFilter()).count == 2)
    }

    @Test("per-call options are honoured inside the transaction: unique key and scope, queue, delay")
    func perCallOptions() async throws {
        let temp = try await storeWithOrders()
        let store = temp.store
        let clock = TestClock()
        let options = EnqueueOptions(delay: .seconds(60), uniqueKey: "call-key", queue: "bulk", maxAttempts: 2, uniqueScope: .whileActive)
        let enqueued = try await store.database.write { db in
            try store.enqueue(OrderReceipt(orderID: 3), tenant: acme, options: options, clock: clock, in: db)
        }
        let job = try #require(try await store.job(enqueued.id))
        #expect(job.uniqueKey == "call-key" && job.uniqueScope == .whileActive && job.queue == "bulk" && job.maxAttempts == 2)
        #expect(job.state == .scheduled && job.runAt == clock.now().addingTimeInterval(60))
        // The key is held in the tenant: a second typed enqueue in another transaction returns the holder.
        let again = try await store.database.write { db in
            try store.enqueue(OrderReceipt(orderID: 4), tenant: acme, options: options, clock: clock, in: db)
        }
        #expect(!again.inserted && again.id == enqueued.id)
    }

    @Test("an invalid job is refused before anything is written, and the application's transaction goes on")
    func invalidJobKeepsTheTransaction() async throws {
        let temp = try await storeWithOrders()
        let store = temp.store
        try await store.database.write { db in
            try db.execute(sql: "INSERT INTO orders (id, total) VALUES (1, 10)")
            let error = #expect(throws: SuretyError.self) {
                try store.enqueue(OrderReceipt(orderID: 1), tenant: acme, options: EnqueueOptions(priority: 10), in: db)
            }
            #expect(error?.code == .invalidArgument)
            try store.enqueue(OrderReceipt(orderID: 1), tenant: acme, in: db)
        }
        #expect(try await store.jobs(JobFilter()).count == 1)
        #expect(try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM orders") } == 1)
    }
}
