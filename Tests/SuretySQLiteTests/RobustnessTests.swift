import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

@Suite("Damaged rows, cancellation, time precision and volume")
struct RobustnessTests {
    typealias F = Fixture

    @Test("malformed tags or correlation JSON in a row does not break reads, claims or filters")
    func malformedJSON() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let ids = try await store.enqueue([F.job(tags: ["a"]), F.job(tags: ["b"]), F.job(tags: ["c"])]).map(\.id)
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET tags = '[\"a\", oops', correlation = 'not json' WHERE id = ?", arguments: [ids[0].rawValue])
            try db.execute(sql: "UPDATE surety_jobs SET tags = '{\"x\":1}', correlation = '[1,2]' WHERE id = ?", arguments: [ids[1].rawValue])
            try db.execute(sql: "UPDATE surety_jobs SET tags = '[\"c\", 7, null]', correlation = '{\"n\": 5, \"s\": \"t\", \"o\": {}}' WHERE id = ?", arguments: [ids[2].rawValue])
        }
        let first = try #require(try await store.job(ids[0]))
        #expect(first.tags.isEmpty && first.correlation.isEmpty)
        let second = try #require(try await store.job(ids[1]))
        #expect(second.tags.isEmpty && second.correlation.isEmpty)
        let third = try #require(try await store.job(ids[2]))
        #expect(third.tags == ["c", "7"] && third.correlation == ["n": "5", "s": "t"])
        #expect(try await store.jobs(JobFilter(tag: "a")).isEmpty)
        #expect(try await store.jobs(JobFilter(tag: "c")).map(\.id) == [ids[2]])
        #expect(try await store.jobs(JobFilter(correlation: ["s": "t"])).map(\.id) == [ids[2]])
        let claimed = try await F.claim(store)
        #expect(claimed.map(\.id) == ids)
    }

    @Test("a malformed payload is handed to the worker as stored")
    func malformedPayload() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET payload = '{\"truncated\": ' WHERE id = ?", arguments: [id.rawValue])
        }
        let claimed = try await F.claim(store)
        #expect(claimed.map(\.payload) == [#"{"truncated": "#])
    }

    @Test("a row in an unknown state gives a clear storeCorrupt error, not a crash")
    func unknownState() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET state = 'paused' WHERE id = ?", arguments: [id.rawValue])
        }
        let error = try await #require(throws: SuretyError.self) { try await store.job(id) }
        #expect(error.code == .storeCorrupt && error.message.contains("paused"))
        let countsError = try await #require(throws: SuretyError.self) { try await store.counts() }
        #expect(countsError.code == .storeCorrupt)
        // Claims simply do not see it.
        #expect(try await F.claim(store).isEmpty)
        // A value of the wrong type in a column is reported, not a crash.
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET state = 'available', first_attempt_at = 'yesterday' WHERE id = ?", arguments: [id.rawValue])
        }
        let typeError = try await #require(throws: SuretyError.self) { try await store.job(id) }
        #expect(typeError.code == .storeCorrupt)
    }

    @Test("a cancelled caller's write still commits whole")
    func cancellationDoesNotInterruptWrites() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await store.enqueue([F.job(), F.job()])
        }
        let results = try await task.value
        #expect(results.count == 2 && results.allSatisfy { $0.inserted })
        #expect(try await store.rowCount("surety_jobs") == 2)
    }

    @Test("times keep microsecond precision and round-trip exactly")
    func timePrecision() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let runAt = Date(timeIntervalSince1970: 1_800_000_000.123456)
        let id = try await store.enqueue([F.job(runAt: runAt)])[0].id
        let record = try #require(try await store.job(id))
        #expect(record.runAt == runAt)
        #expect(try await store.column("run_at", of: id, as: Int64.self) == 1_800_000_000_123_456)
        let millis = F.t0.addingTimeInterval(0.001).addingTimeInterval(0.002)
        let leased = try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "w", now: runAt, leaseUntil: millis))
        #expect(leased.first?.leaseUntil == millis)
        #expect(try await store.job(id)?.leaseUntil == millis)
    }

    @Test("a large batch round-trips through enqueue, claim and finish in few transactions")
    func volume() async throws {
        let temp = try await TempStore(configuration: .init(synchronous: .normal))
        let store = temp.store
        let count = ProcessInfo.processInfo.environment["SURETY_SQLITE_VOLUME"].flatMap { Int($0) } ?? 20_000
        let clock = ContinuousClock()
        let start = clock.now
        let jobs = (0..<count).map { F.job(payload: #"{"n":\#($0)}"#, tags: ["bulk"]) }
        let enqueued = try await store.enqueue(jobs)
        let enqueueTime = clock.now - start
        #expect(enqueued.count == count && Set(enqueued.map(\.id)).count == count)
        let drainStart = clock.now
        var drained = 0
        while true {
            let batch = try await F.claim(store, limit: 500)
            if batch.isEmpty { break }
            let results = try await store.finish(batch.map { F.finish($0, at: F.t0.addingTimeInterval(1)) })
            #expect(results.allSatisfy { $0 == .applied })
            drained += batch.count
        }
        let drainTime = clock.now - drainStart
        #expect(drained == count)
        #expect(try await store.counts() == [JobCount(queue: "default", type: "test.job", state: .completed, count: count)])
        print("SQLiteStore volume: enqueue \(count) in \(enqueueTime), claim+finish in \(drainTime) (informational, not asserted)")
    }
}
