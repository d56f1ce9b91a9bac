import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

@Suite("Operator actions, audit, listings and counts")
struct AdminTests {
    typealias F = Fixture

    /// Enqueues jobs and sends them to the dead-letter inbox.
    private func deadJobs(_ store: SQLiteStore, _ jobs: [NewJob]) async throws -> [JobID] {
        let ids = try await store.enqueue(jobs).map(\.id)
        let claimed = try await F.claim(store, limit: jobs.count, queues: Array(Set(jobs.map(\.queue))))
        _ = try await store.finish(claimed.map {
            F.finish($0, at: F.t0.addingTimeInterval(1), outcome: .failed, next: .dead(.maxAttempts), error: F.boom)
        })
        return ids
    }

    @Test("requeue moves dead and cancelled jobs back with attempts reset, audits each, skips the rest with reasons")
    func requeue() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let dead = try await deadJobs(store, [F.job(key: "k1"), F.job(tags: ["t"])])
        let waiting = try await store.enqueue([F.job(queue: "later", runAt: F.t0.addingTimeInterval(3600))])[0].id
        let cancelled = try await store.enqueue([F.job(queue: "cancel-me")])[0].id
        _ = try await store.cancel([cancelled], action: F.operatorAction("not needed"))
        let signals = store.availabilitySignals()

        let action = F.operatorAction()
        let result = try await store.requeue([dead[0], waiting, JobID(999_999), cancelled, dead[0]], action: action)
        #expect(result.changed == [dead[0], cancelled])
        #expect(result.skipped.map(\.id) == [waiting, JobID(999_999), dead[0]])
        #expect(result.skipped[0].reason == "job is scheduled; only dead or cancelled jobs can be requeued")
        #expect(result.skipped[1].reason == "no such job")
        var iterator = signals.makeAsyncIterator()
        let woke: Void? = await iterator.next()
        #expect(woke != nil)

        let record = try #require(try await store.job(dead[0]))
        #expect(record.state == .available && record.attempt == 0 && record.runAt == action.at && record.deadReason == nil)
        #expect(record.firstAttemptAt == nil && record.finishedAt == nil && record.note == action.reason && record.lastError == F.boom)
        #expect(try await store.column("unique_slot", of: dead[0], as: String.self) == "k1")
        #expect(try await store.audit(of: dead[0]) == [AuditRecord(jobID: dead[0], action: "requeue", actor: "ops@example.com", reason: action.reason, at: action.at)])
        #expect(try await store.audit(of: waiting).isEmpty)
        #expect(try await store.audit(of: cancelled).map(\.action) == ["cancel", "requeue"])
        // The history is kept, and the next attempt starts from 1.
        #expect(try await store.attempts(of: dead[0]).map(\.outcome) == [.failed])
        let again = try await F.claim(store, at: F.t0.addingTimeInterval(100), limit: 10)
        #expect(again.first { $0.id == dead[0] }?.attempt == 1)
        #expect(again.first { $0.id == dead[0] }?.firstAttemptAt == F.t0.addingTimeInterval(100))
    }

    @Test("a requeue is skipped while a newer job holds the key; a forever key stays with its job")
    func requeueKeys() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let dead = try await deadJobs(store, [F.job(key: "k2"), F.job(queue: "f", key: "once", scope: .forever)])
        let newer = try await store.enqueue([F.job(key: "k2")])[0]
        #expect(newer.inserted)
        let result = try await store.requeue(dead, action: F.operatorAction())
        #expect(result.changed == [dead[1]])
        #expect(result.skipped == [BulkResult.Skipped(id: dead[0], reason: "unique key is held by job \(newer.id)")])
        #expect(try await store.audit(of: dead[0]).isEmpty)
        #expect(try await store.job(dead[0])?.state == .dead)
        #expect(try await store.column("unique_slot", of: dead[1], as: String.self) == "once")
    }

    @Test("discard moves dead jobs to cancelled with a won't-retry note; cancel stops waiting jobs only")
    func discardAndCancel() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let dead = try await deadJobs(store, [F.job()])[0]
        let discard = try await store.discard([dead], action: F.operatorAction("customer closed the account"))
        #expect(discard.changed == [dead] && discard.skipped.isEmpty)
        let discarded = try #require(try await store.job(dead))
        #expect(discarded.state == .cancelled && discarded.note == "won't retry: customer closed the account")
        #expect(discarded.finishedAt == F.t0.addingTimeInterval(1))
        #expect(try await store.audit(of: dead).map(\.action) == ["discard"])
        let twice = try await store.discard([dead], action: F.operatorAction())
        #expect(twice.changed.isEmpty && twice.skipped.first?.reason == "job is cancelled; only dead jobs can be discarded")

        let ids = try await store.enqueue([
            F.job(queue: "c", runAt: F.t0.addingTimeInterval(3600), key: "c1"), F.job(queue: "c"), F.job(queue: "c2"),
        ]).map(\.id)
        let running = try await F.claim(store, queues: ["c"])
        #expect(running.map(\.id) == [ids[1]])
        let cancel = try await store.cancel(ids, action: F.operatorAction("customer asked"))
        #expect(cancel.changed == [ids[0], ids[2]])
        #expect(cancel.skipped == [BulkResult.Skipped(id: ids[1], reason: "job is running; only waiting jobs can be cancelled")])
        let cancelled = try #require(try await store.job(ids[0]))
        #expect(cancelled.state == .cancelled && cancelled.finishedAt == F.t0.addingTimeInterval(100) && cancelled.note == "customer asked")
        #expect(try await store.column("unique_slot", of: ids[0], as: String.self) == nil)
        #expect(try await F.claim(store, at: F.t0.addingTimeInterval(7200), queues: ["c", "c2"]).isEmpty)
        #expect(try await store.audit(of: ids[0]).map(\.actor) == ["ops@example.com"])
        #expect(try await store.rowCount("surety_audit") == 3)
    }

    @Test("jobs(filter): newest first, paging by beforeID, every filter field")
    func listing() async throws {
        let temp = try await TempStore()
        let store = temp.store
        var ids = try await store.enqueue([
            F.job("mail.send", queue: "mail", tags: ["welcome"], correlation: ["user_id": "u1"]),
            F.job("mail.send", queue: "mail", tenant: F.globex, tags: ["digest", "weekly"], correlation: ["user_id": "u2"]),
            F.job("billing.charge", queue: "billing", correlation: ["user_id": "u1", "order_id": "o1"]),
        ]).map(\.id)
        let late = NewJob(type: "mail.send", queue: "mail", priority: 0, tenant: F.acme, payload: "{}", runAt: F.t0.addingTimeInterval(10),
                          enqueuedAt: F.t0.addingTimeInterval(10), maxAttempts: 1)
        ids.append(try await store.enqueue([late])[0].id)
        let deadID = try await deadJobs(store, [F.job("billing.refund", queue: "refunds")])[0]
        ids.append(deadID)

        #expect(try await store.jobs(JobFilter()).map(\.id) == ids.reversed())
        var pages: [[JobID]] = []
        var cursor: JobID?
        while true {
            let page = try await store.jobs(JobFilter(beforeID: cursor, limit: 2)).map(\.id)
            if page.isEmpty { break }
            pages.append(page)
            cursor = page.last
        }
        #expect(pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]])
        #expect(try await store.jobs(JobFilter(limit: 0)).isEmpty)
        #expect(try await store.jobs(JobFilter(types: ["mail.send"])).map(\.id) == [ids[3], ids[1], ids[0]])
        #expect(try await store.jobs(JobFilter(queues: ["billing", "refunds"])).map(\.id) == [ids[4], ids[2]])
        #expect(try await store.jobs(JobFilter(tenants: [F.globex])).map(\.id) == [ids[1]])
        #expect(try await store.jobs(JobFilter(tag: "weekly")).map(\.id) == [ids[1]])
        #expect(try await store.jobs(JobFilter(tag: "week")).isEmpty)
        #expect(try await store.jobs(JobFilter(correlation: ["user_id": "u1"])).map(\.id) == [ids[2], ids[0]])
        #expect(try await store.jobs(JobFilter(correlation: ["user_id": "u1", "order_id": "o1"])).map(\.id) == [ids[2]])
        #expect(try await store.jobs(JobFilter(correlation: ["user_id": "u1", "order_id": "o2"])).isEmpty)
        #expect(try await store.jobs(JobFilter(states: [.dead])).map(\.id) == [ids[4]])
        #expect(try await store.jobs(JobFilter(states: [.dead, .available])).count == 5)
        #expect(try await store.jobs(JobFilter(deadReason: .maxAttempts)).map(\.id) == [ids[4]])
        #expect(try await store.jobs(JobFilter(deadReason: .permanentError)).isEmpty)
        #expect(try await store.jobs(JobFilter(enqueuedAfter: F.t0.addingTimeInterval(10))).map(\.id) == [ids[3]])
        #expect(try await store.jobs(JobFilter(enqueuedBefore: F.t0.addingTimeInterval(10))).count == 4)
        #expect(try await store.jobs(JobFilter(types: ["mail.send"], tenants: [F.acme], tag: "welcome", beforeID: ids[3])).map(\.id) == [ids[0]])
    }

    @Test("counts group by queue, type and state, sorted")
    func counts() async throws {
        let temp = try await TempStore()
        let store = temp.store
        #expect(try await store.counts().isEmpty)
        _ = try await store.enqueue([F.job("b.type", queue: "q1"), F.job("b.type", queue: "q1"), F.job("a.type", queue: "q1"), F.job("a.type", queue: "q0")])
        _ = try await deadJobs(store, [F.job("a.type", queue: "q0")])
        let counts = try await store.counts()
        #expect(counts == [
            JobCount(queue: "q0", type: "a.type", state: .available, count: 1),
            JobCount(queue: "q0", type: "a.type", state: .dead, count: 1),
            JobCount(queue: "q1", type: "a.type", state: .available, count: 1),
            JobCount(queue: "q1", type: "b.type", state: .available, count: 2),
        ])
    }

    @Test("attempt history: failed attempts in order, then the running or successful one from the job row")
    func attemptHistory() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        #expect(try await store.attempts(of: id).isEmpty)
        #expect(try await store.attempts(of: JobID(777)).isEmpty)
        let first = try await F.claim(store, worker: "w1")[0]
        _ = try await store.finish([F.finish(first, at: F.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: F.t0.addingTimeInterval(2)), error: F.boom)])
        let second = try await F.claim(store, at: F.t0.addingTimeInterval(2), worker: "w2")[0]
        let running = try await store.attempts(of: id)
        #expect(running.count == 2)
        #expect(running[0] == AttemptRecord(jobID: id, attempt: 1, worker: "w1", startedAt: F.t0, endedAt: F.t0.addingTimeInterval(1), outcome: .failed, error: F.boom))
        #expect(running[1] == AttemptRecord(jobID: id, attempt: 2, worker: "w2", startedAt: F.t0.addingTimeInterval(2), endedAt: nil, outcome: nil, error: nil))
        _ = try await store.finish([AttemptFinish(lease: second.lease, attempt: 2, worker: "w2", startedAt: F.t0.addingTimeInterval(2), endedAt: F.t0.addingTimeInterval(4), outcome: .succeeded, next: .completed)])
        let done = try await store.attempts(of: id)
        #expect(done.map(\.outcome) == [.failed, .succeeded])
        #expect(done[1].endedAt == F.t0.addingTimeInterval(4) && done[1].duration == 2)
        // The last error stays on the job after the success.
        #expect(try await store.job(id)?.lastError == F.boom)
    }
}
