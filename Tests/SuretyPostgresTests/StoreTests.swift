import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import Testing

// Needs a server: see TestServer (Support.swift) for how to run these tests locally.
@Suite("PostgreSQL store", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresStoreTests {
    @Test("migrate is idempotent and safe from several stores at once")
    func migrateConcurrently() async throws {
        try await TestServer.withFreshStore { store in
            try await store.migrate()
            try await TestServer.withSecondStore(of: store) { second in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await store.migrate() }
                    group.addTask { try await second.migrate() }
                    try await group.waitForAll()
                }
            }
            let applied = try await store.client.query("SELECT identifier FROM surety_migrations ORDER BY identifier")
                .collect { try $0[0].decode(String.self) }
            #expect(applied == ["v1", "v2_alerts", "v2_cancel_requests", "v2_flow_limits", "v2_schedules", "v2_trace_context", "v2_workflows"])
        }
    }

    @Test("a fresh schema with no migration gives a clear error")
    func unmigratedSchema() async throws {
        let url = try TestServer.requireURL()
        let error = await #expect(throws: SuretyError.self) {
            try await PostgresStore.withStore(url: url, schema: TestServer.freshSchema()) { store in
                try await store.job(JobID(1))
            }
        }
        #expect(error?.code == .storeCorrupt && error?.message.contains("migrate") == true, "\(String(describing: error))")
    }

    @Test("an enqueue through a second store wakes the first store's subscribers (LISTEN/NOTIFY)")
    func listenNotify() async throws {
        try await TestServer.withFreshStore { store in
            try await withTimeout(10, "the LISTEN connection") { await store.waitUntilListening() }
            let signals = store.availabilitySignals()
            try await TestServer.withSecondStore(of: store) { second in
                _ = try await second.enqueue([.test()])
                try await withTimeout(10, "a wake-up from NOTIFY") {
                    var iterator = signals.makeAsyncIterator()
                    _ = await iterator.next()
                }
            }
        }
    }

    @Test("an enqueue wakes this store's own subscribers at once")
    func localSignal() async throws {
        try await TestServer.withFreshStore { store in
            let signals = store.availabilitySignals()
            _ = try await store.enqueue([.test()])
            try await withTimeout(10, "a local wake-up") {
                var iterator = signals.makeAsyncIterator()
                _ = await iterator.next()
            }
        }
    }

    @Test("two stores claiming at once take every job exactly once (SKIP LOCKED)")
    func skipLockedRace() async throws {
        try await TestServer.withFreshStore { first in
            try await TestServer.withSecondStore(of: first) { second in
                let count = 400
                let ids = try await first.enqueue((0..<count).map { _ in .test(queue: "race") }).map(\.id)
                #expect(Set(ids).count == count)
                let now = Date(timeIntervalSince1970: 1_800_000_000)
                let claims = try await withThrowingTaskGroup(of: [ClaimedJob].self) { group in
                    for (index, store) in [first, second, first, second].enumerated() {
                        group.addTask {
                            var mine: [ClaimedJob] = []
                            while true {
                                let batch = try await store.claim(ClaimRequest(queues: ["race"], limit: 9, worker: "w\(index)", now: now, leaseUntil: now.addingTimeInterval(60)))
                                if batch.isEmpty { return mine }
                                mine += batch
                            }
                        }
                    }
                    var all: [ClaimedJob] = []
                    for try await batch in group { all += batch }
                    return all
                }
                #expect(claims.count == count && Set(claims.map(\.id)) == Set(ids))
                #expect(Set(claims.map(\.lease.token)).count == count, "every claim has its own lease token")
            }
        }
    }

    @Test("a claim skips rows another transaction holds locked instead of waiting")
    func skipLockedDoesNotWait() async throws {
        try await TestServer.withFreshStore { store in
            let ids = try await store.enqueue([.test(), .test(), .test()]).map(\.id)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            try await TestServer.withSecondStore(of: store) { second in
                try await second.client.withTransaction(logger: second.logger) { connection in
                    try await connection.query("SELECT id FROM surety_jobs WHERE id = \(ids[0].rawValue) FOR UPDATE", logger: second.logger)
                    let claimed = try await withTimeout(10, "a claim beside a locked row") {
                        try await store.claim(ClaimRequest(queues: ["default"], limit: 10, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
                    }
                    #expect(claimed.map(\.id) == [ids[1], ids[2]], "the locked job is skipped, got \(claimed.map(\.id))")
                }
            }
            let rest = try await store.claim(ClaimRequest(queues: ["default"], limit: 10, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
            #expect(rest.map(\.id) == [ids[0]], "once unlocked the job is claimable")
        }
    }

    @Test("a large batch enqueues in order, with keys deduplicated against the batch and the table")
    func largeBatch() async throws {
        try await TestServer.withFreshStore { store in
            let held = try await store.enqueue([.test(key: "held")])[0]
            var jobs: [NewJob] = (0..<500).map { _ in .test() }
            jobs.insert(.test(key: "held"), at: 100)
            jobs.insert(.test(key: "new"), at: 200)
            jobs.insert(.test(key: "new"), at: 300)
            let results = try await store.enqueue(jobs)
            #expect(results.count == jobs.count)
            #expect(results[100].id == held.id && !results[100].inserted)
            #expect(results[200].inserted && !results[300].inserted && results[300].id == results[200].id)
            let insertedIDs = results.filter(\.inserted).map(\.id)
            #expect(insertedIDs == insertedIDs.sorted() && Set(insertedIDs).count == 501, "ids ascend in batch order")
            let record = try await store.job(results[200].id)
            #expect(record?.uniqueKey == "new")
        }
    }

    @Test("schemas are isolated: a store sees only its own schema's jobs")
    func schemasAreIsolated() async throws {
        try await TestServer.withFreshStore { first in
            try await TestServer.withFreshStore { other in
                _ = try await first.enqueue([.test(), .test()])
                let mine = try await first.counts().reduce(0) { $0 + $1.count }
                let theirs = try await other.counts().reduce(0) { $0 + $1.count }
                #expect(mine == 2 && theirs == 0)
            }
        }
    }
}
