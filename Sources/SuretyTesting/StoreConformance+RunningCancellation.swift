import Foundation
import Surety

extension StoreConformance {
    /// Cancel requests for running jobs: requested, reported by the heartbeat of the lease that
    /// holds the job (not by a stale one), fenced, turned into `cancelled` when the attempt ends
    /// in a retry or a rescue, dropped when the job completes anyway; waiting jobs are cancelled
    /// at once and finished ones skipped; every action audited.
    func runningCancellation(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any CancelRequestStore & OperatedStore else {
            try check.fail("the store does not implement CancelRequestStore")
        }
        let now = Fixtures.t0
        let ids = try await store.enqueue([
            Fixtures.job(), Fixtures.job(), Fixtures.job(), Fixtures.job(runAt: now.addingTimeInterval(3600), key: "later"),
        ]).map(\.id)
        let claimed = try await Fixtures.claim(store, limit: 3)
        try check.that(claimed.map(\.id) == Array(ids[0..<3]), "three running jobs")
        let action = Fixtures.operatorAction("customer asked", at: now.addingTimeInterval(1))

        let result = try await store.requestCancellation([ids[0], ids[1], ids[3], JobID(999_999)], action: action)
        try check.that(result.requested == [ids[0], ids[1]], "running jobs get a request, got \(result.requested)")
        try check.that(result.cancelled == [ids[3]], "a scheduled job is cancelled at once, got \(result.cancelled)")
        try check.that(result.skipped.map(\.id) == [JobID(999_999)], "an unknown job is skipped")
        let stillRunning = try await store.job(ids[0])
        try check.that(stillRunning?.state == .running, "a request does not stop a running job by itself")

        // The heartbeat of the holding lease reports the request; a stale lease is lost instead.
        let stale = Lease(jobID: ids[0], token: claimed[0].lease.token &+ 1)
        let report = try await store.heartbeatReportingCancellations(claimed.map(\.lease) + [stale], until: now.addingTimeInterval(40))
        try check.that(report.lost == [stale], "only the stale lease is lost, got \(report.lost)")
        try check.that(report.cancelRequested.map(\.lease) == [claimed[0].lease, claimed[1].lease], "the requests are reported with their leases, got \(report.cancelRequested.map(\.lease))")
        try check.that(report.cancelRequested.first?.actor == "ops@example.com" && report.cancelRequested.first?.reason == "customer asked", "the request says who and why")

        // The worker records the cancelled attempt, fenced by its lease token.
        let staleFinish = AttemptFinish(lease: stale, attempt: 1, worker: "w1", startedAt: now, endedAt: now.addingTimeInterval(2), outcome: .cancelled, next: .cancelled)
        try check.that(try await store.finish([staleFinish]) == [.leaseLost], "a cancel under a stale token is refused")
        let cancelError = AttemptError(type: "Cancelled", message: "cancelled by ops@example.com: customer asked", errorClass: .permanent)
        let done = try await store.finish([Fixtures.finish(claimed[0], at: now.addingTimeInterval(2), outcome: .cancelled, next: .cancelled, error: cancelError)])
        try check.that(done == [.applied], "the cancelled attempt is recorded")
        let first = try await store.job(ids[0])
        try check.that(first?.state == .cancelled && first?.finishedAt == now.addingTimeInterval(2), "the job ends cancelled")
        let firstAttempts = try await store.attempts(of: ids[0])
        try check.that(firstAttempts.map(\.outcome) == [.cancelled], "the attempt is recorded as cancelled, got \(firstAttempts.map(\.outcome))")

        // The attempt failed before its worker heard: the request wins over the retry.
        _ = try await store.finish([Fixtures.finish(claimed[1], at: now.addingTimeInterval(3), outcome: .failed, next: .retry(at: now.addingTimeInterval(13)), error: Fixtures.boom)])
        let second = try await store.job(ids[1])
        try check.that(second?.state == .cancelled, "a pending request turns a retry into cancelled, got \(String(describing: second?.state))")
        try check.that(second?.note == "cancelled by ops@example.com: customer asked", "with a note, got \(String(describing: second?.note))")
        let secondAttempts = try await store.attempts(of: ids[1])
        try check.that(secondAttempts.map(\.outcome) == [.failed], "the failed attempt stays recorded")
        let none = try await Fixtures.claim(store, at: now.addingTimeInterval(60))
        try check.that(none.isEmpty, "nothing cancelled is claimed again")

        // A finished job is skipped; a job that completes despite a request stays completed and
        // its request is gone.
        let later = try await store.requestCancellation([ids[1]], action: action)
        try check.that(later.skipped.map(\.id) == [ids[1]], "a finished job is skipped")
        _ = try await store.requestCancellation([ids[2]], action: action)
        _ = try await store.finish([Fixtures.finish(claimed[2], at: now.addingTimeInterval(4), outcome: .succeeded, next: .completed)])
        let third = try await store.job(ids[2])
        try check.that(third?.state == .completed, "a job that completed before its worker heard stays completed")

        // A rescued job with a pending request is cancelled instead of retried.
        let rescuedID = try await store.enqueue([Fixtures.job()])[0].id
        let rescued = try await Fixtures.claim(store, at: now.addingTimeInterval(5), lease: 10)
        _ = try await store.requestCancellation([rescuedID], action: action)
        _ = try await store.finish([Fixtures.finish(rescued[0], at: now.addingTimeInterval(20), outcome: .lost, next: .retry(at: now.addingTimeInterval(30)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(20))])
        let lost = try await store.job(rescuedID)
        try check.that(lost?.state == .cancelled, "a rescue of a job with a pending request cancels it")

        let audit = try await store.audit(of: ids[0])
        try check.that(audit.map(\.action) == ["cancel_request"], "the request is audited, got \(audit.map(\.action))")
        let scheduledAudit = try await store.audit(of: ids[3])
        try check.that(scheduledAudit.map(\.action) == ["cancel"], "the cancel of a waiting job is audited")
    }
}
