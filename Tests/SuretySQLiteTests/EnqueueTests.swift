import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

@Suite("Enqueue, unique keys and transactional enqueue")
struct EnqueueTests {
    typealias F = Fixture

    @Test("new jobs start available or scheduled, with their fields stored")
    func initialStates() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let results = try await store.enqueue([
            F.job("mail.send", queue: "mail", priority: 3, payload: #"{"to":"a@b.example"}"#, maxAttempts: 7),
            F.job(runAt: F.t0.addingTimeInterval(60)),
            F.job(runAt: F.t0.addingTimeInterval(-5)),
        ])
        #expect(results.allSatisfy { $0.inserted })
        #expect(Set(results.map(\.id)).count == 3)
        #expect(results.map(\.id) == results.map(\.id).sorted())
        let first = try #require(try await store.job(results[0].id))
        #expect(first.state == .available && first.type == "mail.send" && first.queue == "mail" && first.priority == 3)
        #expect(first.payload == #"{"to":"a@b.example"}"# && first.maxAttempts == 7 && first.attempt == 0)
        #expect(first.tenant == F.acme && first.runAt == F.t0 && first.enqueuedAt == F.t0)
        #expect(first.firstAttemptAt == nil && first.attemptedAt == nil && first.leaseUntil == nil && first.finishedAt == nil)
        #expect(try await store.job(results[1].id)?.state == .scheduled)
        #expect(try await store.job(results[2].id)?.state == .available)
        #expect(try await store.enqueue([]).isEmpty)
        // Times are stored as integer microseconds since 1970.
        #expect(try await store.column("run_at", of: results[1].id, as: Int64.self) == 1_800_000_060_000_000)
    }

    @Test("unique keys are scoped by tenant, deduplicated within a batch, and hold per scope")
    func uniqueKeys() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let a = try await store.enqueue([F.job(key: "welcome")])[0]
        let sameTenant = try await store.enqueue([F.job(payload: #"{"x":1}"#, key: "welcome")])[0]
        let otherTenant = try await store.enqueue([F.job(tenant: F.globex, key: "welcome")])[0]
        #expect(a.inserted && !sameTenant.inserted && sameTenant.id == a.id)
        #expect(otherTenant.inserted && otherTenant.id != a.id)
        #expect(try await store.column("unique_slot", of: a.id, as: String.self) == "welcome")

        let batch = try await store.enqueue([F.job(key: "b"), F.job(key: "b"), F.job(), F.job(tenant: F.globex, key: "b")])
        #expect(batch.map(\.inserted) == [true, false, true, true])
        #expect(batch[1].id == batch[0].id && batch[3].id != batch[0].id)

        // whileActive frees on completion; forever holds after completion.
        let claimed = try await F.claim(store, limit: 100)
        let welcome = try #require(claimed.first { $0.id == a.id })
        _ = try await store.finish([F.finish(welcome, at: F.t0.addingTimeInterval(1))])
        #expect(try await store.column("unique_slot", of: a.id, as: String.self) == nil)
        #expect(try await store.column("unique_key", of: a.id, as: String.self) == "welcome")
        let fresh = try await store.enqueue([F.job(key: "welcome")])[0]
        #expect(fresh.inserted && fresh.id != a.id)

        let forever = try await store.enqueue([F.job(queue: "once", key: "import-2027", scope: .forever)])[0]
        let foreverJob = try await F.claim(store, queues: ["once"])[0]
        _ = try await store.finish([F.finish(foreverJob, at: F.t0.addingTimeInterval(1), outcome: .failed, next: .dead(.permanentError), error: F.boom)])
        #expect(try await store.column("unique_slot", of: forever.id, as: String.self) == "import-2027")
        let blocked = try await store.enqueue([F.job(queue: "once", key: "import-2027")])[0]
        #expect(!blocked.inserted && blocked.id == forever.id)
        #expect(try await store.job(forever.id)?.uniqueScope == .forever)
    }

    @Test("50 concurrent enqueues of one key for one tenant insert exactly one job; another tenant gets its own")
    func uniqueKeyRace() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let results = try await withThrowingTaskGroup(of: (TenantID, EnqueuedJob).self) { group in
            for index in 0..<60 {
                let tenant = index < 50 ? F.acme : F.globex
                group.addTask { (tenant, try await store.enqueue([F.job(tenant: tenant, key: "race")])[0]) }
            }
            var all: [(TenantID, EnqueuedJob)] = []
            for try await result in group { all.append(result) }
            return all
        }
        let acme = results.filter { $0.0 == F.acme }.map(\.1)
        let globex = results.filter { $0.0 == F.globex }.map(\.1)
        #expect(acme.count == 50 && acme.filter(\.inserted).count == 1 && Set(acme.map(\.id)).count == 1)
        #expect(globex.count == 10 && globex.filter(\.inserted).count == 1 && Set(globex.map(\.id)).count == 1)
        #expect(acme[0].id != globex[0].id)
        #expect(try await store.rowCount("surety_jobs") == 2)
    }

    @Test("transactional enqueue commits with the application's write")
    func transactionalCommit() async throws {
        let temp = try await TempStore()
        let store = temp.store
        try await store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
        }
        let signals = store.availabilitySignals()
        let enqueued = try await store.database.write { db in
            try db.execute(sql: "INSERT INTO orders (total) VALUES (10)")
            return try store.enqueue([F.job("receipt.send", key: "order-1")], in: db)
        }
        #expect(enqueued.count == 1 && enqueued[0].inserted)
        #expect(try await store.job(enqueued[0].id)?.type == "receipt.send")
        var iterator = signals.makeAsyncIterator()
        let woke: Void? = await iterator.next()
        #expect(woke != nil, "workers are signalled after the commit")
        // Outside a transaction it commits on its own.
        let alone = try await store.database.writeWithoutTransaction { db in try store.enqueue([F.job()], in: db) }
        #expect(try await store.job(alone[0].id) != nil)
    }

    @Test("transactional enqueue disappears when the application's transaction rolls back")
    func transactionalRollback() async throws {
        let temp = try await TempStore()
        let store = temp.store
        try await store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
        }
        struct PaymentDeclined: Error {}
        await #expect(throws: PaymentDeclined.self) {
            try await store.database.write { db in
                try db.execute(sql: "INSERT INTO orders (total) VALUES (10)")
                let ids = try store.enqueue([F.job("receipt.send", key: "order-1")], in: db)
                #expect(ids[0].inserted)
                throw PaymentDeclined()
            }
        }
        #expect(try await store.rowCount("surety_jobs") == 0)
        let orders = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM orders") }
        #expect(orders == 0)
        // The key was never held.
        #expect(try await store.enqueue([F.job(key: "order-1")])[0].inserted)
    }

    @Test("tags and correlation round-trip, including characters JSON must escape")
    func tagsAndCorrelation() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let tags = ["import", "quote\"d", "back\\slash", "line\nbreak", "ünïcødé ✓", "tab\tand\u{1}ctl"]
        let correlation = ["order_id": "o-\"9\"", "user_id": "u-1", "emoji": "🙂"]
        let id = try await store.enqueue([F.job(tags: tags, correlation: correlation)])[0].id
        let record = try #require(try await store.job(id))
        #expect(record.tags == tags)
        #expect(record.correlation == correlation)
        let valid = try await store.database.read { db in
            try Bool.fetchOne(db, sql: "SELECT json_valid(tags) AND json_valid(correlation) FROM surety_jobs WHERE id = ?", arguments: [id.rawValue])
        }
        #expect(valid == true)
        #expect(try await store.jobs(JobFilter(tag: "quote\"d")).map(\.id) == [id])
        #expect(try await store.jobs(JobFilter(correlation: ["order_id": "o-\"9\""])).map(\.id) == [id])
        let claimed = try await F.claim(store)
        #expect(claimed.first?.tags == tags && claimed.first?.correlation == correlation)
    }
}
