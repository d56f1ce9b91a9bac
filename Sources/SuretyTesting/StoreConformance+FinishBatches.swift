import Foundation
import Surety

extension StoreConformance {
    /// A batch of finishes is fenced per finish, in order: forged tokens are refused in a large
    /// batch (several statements in the SQL stores), the same job twice in one batch applies once
    /// (the first finish spends the token), and a stale finish before a valid one for the same job
    /// changes nothing.
    func finishBatches(_ store: any OperatedStore, _ check: Check) async throws {
        let t0 = Fixtures.t0
        _ = try await store.enqueue((0..<300).map { _ in Fixtures.job() })
        let claimed = try await Fixtures.claim(store, limit: 300)
        try check.that(claimed.count == 300, "300 jobs are claimed in one claim, got \(claimed.count)")
        // Every third finish carries a forged token.
        let finishes = claimed.enumerated().map { index, job -> AttemptFinish in
            var job = job
            if index % 3 == 0 { job.lease.token &+= 1 }
            return Fixtures.finish(job, at: t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: t0.addingTimeInterval(2)), error: Fixtures.boom)
        }
        let results = try await store.finish(finishes)
        try check.that(results == claimed.indices.map { $0 % 3 == 0 ? .leaseLost : .applied }, "each finish of a batch of 300 is fenced on its own token, in order")
        let running = try await store.jobs(JobFilter(states: [.running], limit: 1000))
        try check.that(running.count == 100, "the 100 refused finishes left their jobs running, got \(running.count)")
        let retrying = try await store.jobs(JobFilter(states: [.retrying], limit: 1000))
        try check.that(retrying.count == 200, "the 200 applied finishes left their jobs retrying, got \(retrying.count)")
        let applied = try await store.attempts(of: claimed[1].id).map(\.outcome)
        try check.that(applied == [.failed], "an applied failure is in the history once, got \(applied)")

        // The same job twice in one batch: the first applies and spends the token.
        let first = claimed[0]
        let twice = try await store.finish([Fixtures.finish(first, at: t0.addingTimeInterval(3)), Fixtures.finish(first, at: t0.addingTimeInterval(4))])
        try check.that(twice == [.applied, .leaseLost], "the same job twice in one batch applies once, got \(twice)")
        let record = try await store.job(first.id)
        try check.that(record?.state == .completed && record?.finishedAt == t0.addingTimeInterval(3), "the first finish of the pair is the one kept")
        // A stale finish before the valid one for the same job: only the valid one applies.
        let job = claimed[3]
        var stale = job
        stale.lease.token &+= 1
        let mixed = try await store.finish([
            Fixtures.finish(stale, at: t0.addingTimeInterval(5), outcome: .failed, next: .dead(.permanentError), error: Fixtures.boom),
            Fixtures.finish(job, at: t0.addingTimeInterval(6)),
        ])
        try check.that(mixed == [.leaseLost, .applied], "a stale finish then the valid one for the same job: only the valid one applies, got \(mixed)")
        let state = try await store.job(job.id)?.state
        try check.that(state == .completed, "the job is completed by the valid finish, got \(String(describing: state))")
        let history = try await store.attempts(of: job.id).map(\.outcome)
        try check.that(history == [.succeeded], "the refused stale finish left no history row, got \(history)")
    }
}
