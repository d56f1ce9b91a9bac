import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

@Suite("Claims, heartbeats, finishes, fencing and rescue")
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

    @Test("priorities outside 0...9 are ordered too; jobs scheduled later at an urgent priority do not hide due ones")
    func claimPriorities() async throws {
        let temp = try await TempStore()
        let store = temp.store
        _ = try await store.enqueue((0..<500).map { _ in F.job(priority: 0, runAt: F.t0.addingTimeInterval(3600)) })
        let ids = try await store.enqueue([
            F.job(priority: 15), F.job(priority: 9), F.job(priority: -3), F.job(priority: 4), F.job(queue: "b", priority: -1),
        ]).map(\.id)
        let claimed = try await F.claim(store, limit: 4, queues: ["default", "b"])
        #expect(claimed.map(\.id) == [ids[2], ids[4], ids[3], ids[1]])
        #expect(try await F.claim(store, limit: 10, queues: ["default", "b"]).map(\.id) == [ids[0]])
        let later = try await F.claim(store, at: F.t0.addingTimeInterval(3600), limit: 1000)
        #expect(later.count == 500)
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

    @Test("heartbeats extend held leases and report lost ones")
    func heartbeats() async throws {
        let temp = try await TempStore()
        let store = temp.store
        _ = try await store.enqueue([F.job(), F.job()])
        let claimed = try await F.claim(store, limit: 2)
        let forged = Lease(jobID: claimed[1].id, token: claimed[1].lease.token &+ 1)
        let missing = Lease(jobID: JobID(424_242), token: 1)
        let lost = try await store.heartbeat([claimed[0].lease, forged, missing], until: F.t0.addingTimeInterval(90))
        #expect(lost == [forged, missing])
        #expect(try await store.job(claimed[0].id)?.leaseUntil == F.t0.addingTimeInterval(90))
        #expect(try await store.job(claimed[1].id)?.leaseUntil == F.t0.addingTimeInterval(30))
        #expect(try await store.heartbeat([], until: F.t0).isEmpty)
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

    @Test("a finish or heartbeat with an old token is refused and changes nothing")
    func fencing() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        let stale = try await F.claim(store, worker: "paused")[0]
        _ = try await store.finish([F.finish(stale, at: F.t0.addingTimeInterval(31), outcome: .lost, next: .retry(at: F.t0.addingTimeInterval(31)), error: F.boom, worker: "paused", onlyIfExpiredBy: F.t0.addingTimeInterval(31))])
        let fresh = try await F.claim(store, at: F.t0.addingTimeInterval(31), worker: "healthy")[0]
        #expect(fresh.lease.token != stale.lease.token && fresh.attempt == 2)
        let before = try await store.job(id)
        let historyBefore = try await store.rowCount("surety_attempts")
        #expect(try await store.finish([F.finish(stale, at: F.t0.addingTimeInterval(40), outcome: .failed, next: .dead(.permanentError), error: F.boom)]) == [.leaseLost])
        #expect(try await store.heartbeat([stale.lease], until: F.t0.addingTimeInterval(500)) == [stale.lease])
        #expect(try await store.job(id) == before)
        #expect(try await store.rowCount("surety_attempts") == historyBefore)
        #expect(try await store.finish([F.finish(fresh, at: F.t0.addingTimeInterval(41))]) == [.applied])
        // After completion, the fresh token is spent too.
        #expect(try await store.finish([F.finish(fresh, at: F.t0.addingTimeInterval(42))]) == [.leaseLost])
    }

    @Test("a batch of finishes is fenced per finish, in order, even for the same job twice")
    func finishBatches() async throws {
        let temp = try await TempStore()
        let store = temp.store
        _ = try await store.enqueue((0..<300).map { _ in F.job() })
        let claimed = try await F.claim(store, limit: 300)
        // A large batch (several multi-row statements) where every third finish has a forged token.
        let finishes = claimed.enumerated().map { index, job -> AttemptFinish in
            var job = job
            if index % 3 == 0 { job.lease.token &+= 1 }
            return F.finish(job, at: F.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: F.t0.addingTimeInterval(2)), error: F.boom)
        }
        let results = try await store.finish(finishes)
        #expect(results == claimed.indices.map { $0 % 3 == 0 ? .leaseLost : .applied })
        #expect(try await store.rowCount("surety_attempts") == 200)
        #expect(try await store.jobs(JobFilter(states: [.running], limit: 1000)).count == 100)

        // The same job twice: the first applies and spends the token.
        let first = claimed[0]
        let twice = try await store.finish([F.finish(first, at: F.t0.addingTimeInterval(3)), F.finish(first, at: F.t0.addingTimeInterval(4))])
        #expect(twice == [.applied, .leaseLost])
        #expect(try await store.job(first.id)?.finishedAt == F.t0.addingTimeInterval(3))
        // A stale finish before the valid one for the same job: only the valid one applies.
        let job = claimed[3]
        var stale = job
        stale.lease.token &+= 1
        let mixed = try await store.finish([
            F.finish(stale, at: F.t0.addingTimeInterval(5), outcome: .failed, next: .dead(.permanentError), error: F.boom),
            F.finish(job, at: F.t0.addingTimeInterval(6)),
        ])
        #expect(mixed == [.leaseLost, .applied])
        #expect(try await store.job(job.id)?.state == .completed)
        #expect(try await store.rowCount("surety_attempts", job: job.id) == 0)
    }

    @Test("rescue: expired leases oldest first; a rescue is refused if the worker heartbeated meanwhile")
    func rescue() async throws {
        let temp = try await TempStore()
        let store = temp.store
        _ = try await store.enqueue([F.job(), F.job(), F.job()])
        let a = try await F.claim(store, limit: 1, worker: "wa", lease: 50)[0]
        let b = try await F.claim(store, limit: 1, worker: "wb", lease: 20)[0]
        let c = try await F.claim(store, limit: 1, worker: "wc", lease: 100)[0]
        #expect(try await store.expiredLeases(now: F.t0.addingTimeInterval(19), limit: 10).isEmpty)
        let expired = try await store.expiredLeases(now: F.t0.addingTimeInterval(60), limit: 10)
        #expect(expired.map(\.job.id) == [b.id, a.id])
        #expect(expired.map(\.worker) == ["wb", "wa"] && expired.allSatisfy { $0.startedAt == F.t0 })
        #expect(expired[0].job.lease == b.lease && expired[0].job.attempt == 1 && expired[0].job.leaseUntil == F.t0.addingTimeInterval(20))
        #expect(try await store.expiredLeases(now: F.t0.addingTimeInterval(60), limit: 1).map(\.job.id) == [b.id])
        #expect(try await store.expiredLeases(now: F.t0.addingTimeInterval(60), limit: 0).isEmpty)

        // a's worker heartbeats after the rescuer read the lease but before it wrote.
        _ = try await store.heartbeat([a.lease], until: F.t0.addingTimeInterval(120))
        let now = F.t0.addingTimeInterval(60)
        let results = try await store.finish(expired.map {
            AttemptFinish(lease: $0.job.lease, attempt: $0.job.attempt, worker: $0.worker, startedAt: $0.startedAt, endedAt: now,
                          outcome: .lost, error: F.boom, next: .retry(at: now.addingTimeInterval(5)), onlyIfLeaseExpiredBy: now)
        })
        #expect(results == [.applied, .leaseLost])
        #expect(try await store.job(b.id)?.state == .retrying)
        #expect(try await store.job(a.id)?.state == .running)
        #expect(try await store.attempts(of: b.id).map(\.outcome) == [.lost])
        #expect(try await store.heartbeat([a.lease, b.lease, c.lease], until: F.t0.addingTimeInterval(130)) == [b.lease])
    }
}
