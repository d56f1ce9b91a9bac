import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

// Heartbeats, fencing, rescue order, priorities and finish batches are store-contract checks:
// they live in the conformance suite (StoreConformance), which every store runs.
@Suite("SQLite claims and finishes")
struct AttemptTests {
    typealias F = Fixture

    @Test("claims take priority, then run_at, then id, up to the limit, from the requested queues only")
    func claimOrder() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let ids = try await store.enqueue([
            F.job(priority: 5, runAt: F.t0.addingTimeInterval(-30)), // 0
            F.job(priority: 0, runAt: F.t0.addingTimeInterval(-10)), // 1
            F.job(priority: 0, runAt: F.t0.addingTimeInterval(-20)), // 2
            F.job(priority: 0, runAt: F.t0.addingTimeInterval(600)), // 3: not due
            F.job(queue: "other", priority: 0, runAt: F.t0.addingTimeInterval(-40)), // 4
            F.job(priority: 0, runAt: F.t0.addingTimeInterval(-10)), // 5: ties 1 on run_at, later id
            F.job(queue: "third", priority: 1, runAt: F.t0.addingTimeInterval(-50)), // 6
        ]).map(\.id)
        let first = try await F.claim(store, limit: 3)
        #expect(first.map(\.id) == [ids[2], ids[1], ids[5]])
        #expect(first.allSatisfy { $0.attempt == 1 && $0.lease.token > 0 && $0.leaseUntil == F.t0.addingTimeInterval(30) })
        #expect(first.allSatisfy { $0.firstAttemptAt == F.t0 && $0.tenant == F.acme && $0.enqueuedAt == F.t0 })
        #expect(Set(first.map(\.lease.token)).count == 3)
        #expect(first[0].runAt == F.t0.addingTimeInterval(-20))

        let row = try #require(try await store.job(ids[2]))
        #expect(row.state == .running && row.attemptedBy == "w1" && row.attemptedAt == F.t0 && row.attempt == 1)
        #expect(try await store.column("lease_token", of: ids[2], as: Int64.self) == first[0].lease.token)

        // Several queues: one order across them.
        let multi = try await F.claim(store, limit: 10, queues: ["third", "other", "default", "other"])
        #expect(multi.map(\.id) == [ids[4], ids[6], ids[0]])
        #expect(try await F.claim(store, limit: 10, queues: ["default", "other", "third"]).isEmpty)
        #expect(try await F.claim(store, at: F.t0.addingTimeInterval(600), limit: 10).map(\.id) == [ids[3]])
        // Nothing to claim with no queues or no room.
        _ = try await store.enqueue([F.job()])
        #expect(try await F.claim(store, limit: 0).isEmpty)
        #expect(try await F.claim(store, queues: []).isEmpty)
    }

    @Test("a batch claim takes exactly the limit and leaves the rest")
    func claimBatchLimit() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let ids = try await store.enqueue((0..<25).map { _ in F.job() }).map(\.id)
        let a = try await F.claim(store, limit: 10)
        let b = try await F.claim(store, limit: 10)
        let c = try await F.claim(store, limit: 10)
        #expect(a.count == 10 && b.count == 10 && c.count == 5)
        #expect((a + b + c).map(\.id) == ids)
    }

    @Test("two stores on one file (as two processes) claim every job exactly once")
    func twoStoresOneFile() async throws {
        let temp = try await TempStore()
        let other = try temp.reopen()
        _ = try await temp.store.enqueue((0..<300).map { _ in F.job() })
        let claims = try await withThrowingTaskGroup(of: [ClaimedJob].self) { group in
            for (index, store) in [temp.store, other, temp.store, other].enumerated() {
                group.addTask {
                    var mine: [ClaimedJob] = []
                    while true {
                        let batch = try await F.claim(store, limit: 9, worker: "w\(index)")
                        if batch.isEmpty { return mine }
                        mine += batch
                        _ = try await store.finish(batch.map { F.finish($0, at: F.t0.addingTimeInterval(1)) })
                    }
                }
            }
            var all: [ClaimedJob] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(claims.count == 300 && Set(claims.map(\.id)).count == 300)
        #expect(try await other.counts() == [JobCount(queue: "default", type: "test.job", state: .completed, count: 300)])
    }

    @Test("a success writes no history row; the attempt is read from the job row")
    func success() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        let job = try await F.claim(store)[0]
        let results = try await store.finish([F.finish(job, at: F.t0.addingTimeInterval(2))])
        #expect(results == [.applied])
        let record = try #require(try await store.job(id))
        #expect(record.state == .completed && record.finishedAt == F.t0.addingTimeInterval(2) && record.leaseUntil == nil)
        #expect(try await store.column("lease_token", of: id, as: Int64.self) == nil)
        #expect(try await store.rowCount("surety_attempts") == 0)
        let attempts = try await store.attempts(of: id)
        #expect(attempts == [AttemptRecord(jobID: id, attempt: 1, worker: "w1", startedAt: F.t0, endedAt: F.t0.addingTimeInterval(2), outcome: .succeeded, error: nil)])
        #expect(try await store.finish([]).isEmpty)
    }

    @Test("retry, reschedule, dead and cancelled produce the lifecycle's records")
    func transitions() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let memory = MemoryStore()
        // The same script against both stores must produce equal records (ids aside, which match too).
        for target in [store as any JobStore, memory] {
            let ids = try await target.enqueue([
                F.job(queue: "retry", key: "r"), F.job(queue: "snooze-later", key: "s"), F.job(queue: "snooze-now"),
                F.job(queue: "dead", key: "d"), F.job(queue: "cancel", key: "c"), F.job(queue: "timeout"),
            ]).map(\.id)
            func one(_ queue: String) async throws -> ClaimedJob {
                try await target.claim(ClaimRequest(queues: [queue], limit: 1, worker: "w1", now: F.t0, leaseUntil: F.t0.addingTimeInterval(30)))[0]
            }
            let end = F.t0.addingTimeInterval(3)
            let results = try await target.finish([
                F.finish(try await one("retry"), at: end, outcome: .failed, next: .retry(at: F.t0.addingTimeInterval(10)), error: F.boom),
                F.finish(try await one("snooze-later"), at: end, outcome: .snoozed, next: .reschedule(at: F.t0.addingTimeInterval(60))),
                F.finish(try await one("snooze-now"), at: end, outcome: .interrupted, next: .reschedule(at: end)),
                F.finish(try await one("dead"), at: end, outcome: .failed, next: .dead(.permanentError),
                         error: AttemptError(type: "Declined", message: "card declined", errorClass: .permanent)),
                F.finish(try await one("cancel"), at: end, outcome: .cancelled, next: .cancelled),
                F.finish(try await one("timeout"), at: end, outcome: .timedOut, next: .completed),
            ])
            #expect(results == Array(repeating: .applied, count: 6))
            _ = ids
        }
        let sqlite = try await store.jobs(JobFilter())
        let reference = try await memory.jobs(JobFilter())
        #expect(sqlite == reference)
        for record in reference {
            #expect(try await store.attempts(of: record.id) == (try await memory.attempts(of: record.id)))
        }
        let byQueue = Dictionary(uniqueKeysWithValues: sqlite.map { ($0.queue, $0) })
        #expect(byQueue["retry"]?.state == .retrying && byQueue["retry"]?.lastError == F.boom && byQueue["retry"]?.attempt == 1)
        #expect(byQueue["snooze-later"]?.state == .scheduled && byQueue["snooze-later"]?.attempt == 0)
        #expect(byQueue["snooze-now"]?.state == .available && byQueue["snooze-now"]?.runAt == F.t0.addingTimeInterval(3))
        #expect(byQueue["dead"]?.state == .dead && byQueue["dead"]?.deadReason == .permanentError)
        #expect(byQueue["cancel"]?.state == .cancelled && byQueue["cancel"]?.finishedAt == F.t0.addingTimeInterval(3))
        // A non-success outcome that completes still leaves a history row.
        #expect(try await store.rowCount("surety_attempts") == 6)
        // Keys: held while retrying or scheduled, freed by dead and cancelled.
        #expect(try await store.column("unique_slot", of: byQueue["retry"]!.id, as: String.self) == "r")
        #expect(try await store.column("unique_slot", of: byQueue["snooze-later"]!.id, as: String.self) == "s")
        #expect(try await store.column("unique_slot", of: byQueue["dead"]!.id, as: String.self) == nil)
        #expect(try await store.column("unique_slot", of: byQueue["cancel"]!.id, as: String.self) == nil)
    }

    @Test("a finish that makes a job available now wakes in-process workers")
    func wakeOnReschedule() async throws {
        let temp = try await TempStore()
        let store = temp.store
        _ = try await store.enqueue([F.job()])
        let job = try await F.claim(store)[0]
        let signals = store.availabilitySignals()
        _ = try await store.finish([F.finish(job, at: F.t0.addingTimeInterval(1), outcome: .interrupted, next: .reschedule(at: F.t0.addingTimeInterval(1)))])
        var iterator = signals.makeAsyncIterator()
        let woke: Void? = await iterator.next()
        #expect(woke != nil)
        #expect(try await F.claim(store, at: F.t0.addingTimeInterval(1)).first?.attempt == 1)
    }
}
