import Foundation
import Surety

extension StoreConformance {
    func heartbeatAndRescue(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job()])[0].id
        let job = try await Fixtures.claim(store)[0]
        let lost = try await store.heartbeat([job.lease], until: now.addingTimeInterval(60))
        try check.that(lost.isEmpty, "a held lease heartbeats")
        let extended = try await store.job(id)
        try check.that(extended?.leaseUntil == now.addingTimeInterval(60), "a heartbeat extends lease_until")
        // A forged token and an unknown job are reported lost, in the order given, and change nothing.
        let forged = Lease(jobID: id, token: job.lease.token &+ 1)
        let missing = Lease(jobID: JobID(424_242), token: 1)
        let reported = try await store.heartbeat([forged, job.lease, missing], until: now.addingTimeInterval(60))
        try check.that(reported == [forged, missing], "a heartbeat reports a forged token and an unknown job lost, got \(reported)")
        let empty = try await store.heartbeat([], until: now)
        try check.that(empty.isEmpty, "an empty heartbeat reports nothing")
        let early = try await store.expiredLeases(now: now.addingTimeInterval(59), limit: 10)
        try check.that(early.isEmpty, "an unexpired lease is not rescued")
        let expired = try await store.expiredLeases(now: now.addingTimeInterval(61), limit: 10)
        try check.that(expired.count == 1 && expired[0].job.id == id && expired[0].job.lease == job.lease && expired[0].worker == "w1" && expired[0].startedAt == now,
                       "an expired lease is listed with its token, worker and start")
        // A heartbeat that lands after the rescuer read the lease but before it wrote keeps the job.
        _ = try await store.heartbeat([job.lease], until: now.addingTimeInterval(120))
        let refused = try await store.finish([Fixtures.finish(job, at: now.addingTimeInterval(61), outcome: .lost, next: .retry(at: now.addingTimeInterval(70)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(61))])
        try check.that(refused == [.leaseLost], "a rescue is refused when the worker heartbeated meanwhile")
        let rescue = try await store.finish([Fixtures.finish(job, at: now.addingTimeInterval(121), outcome: .lost, next: .retry(at: now.addingTimeInterval(130)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(121))])
        try check.that(rescue == [.applied], "a rescue applies once the lease expired")
        let record = try await store.job(id)
        try check.that(record?.state == .retrying && record?.runAt == now.addingTimeInterval(130) && record?.leaseUntil == nil, "a rescued job waits for its retry")
        let history = try await store.attempts(of: id)
        try check.that(history.count == 1 && history[0].outcome == .lost && history[0].worker == "w1", "the lost attempt is in the history")
        let afterLoss = try await store.heartbeat([job.lease], until: now.addingTimeInterval(200))
        try check.that(afterLoss == [job.lease], "the old lease is reported lost to its worker")
        let again = try await Fixtures.claim(store, at: now.addingTimeInterval(130), worker: "w2")
        try check.that(again.count == 1 && again[0].attempt == 2 && again[0].lease.token != job.lease.token, "the retry is attempt 2 with a new token")
        try check.that(again.first?.firstAttemptAt == now, "the first attempt time is kept across attempts")
    }
}
