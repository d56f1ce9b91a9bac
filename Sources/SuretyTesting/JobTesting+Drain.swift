import Foundation
import Surety

extension JobTesting {
    /// Runs every due job of `queues`, and the follow-ups they enqueue, one attempt at a time,
    /// until nothing is due; with `advancingClock`, then moves ``clock`` to the next waiting
    /// job's run time (a retry's backoff, a snooze, a delay) and goes on, until no job waits.
    ///
    /// Deterministic: each step claims the single most urgent due job (priority, then run time,
    /// then id, as a worker's claim), runs it as ``perform(_:tenant:attempt:options:checkRoundTrip:)``
    /// does, and records its outcome; the clock moves only between attempts, and backoffs have no
    /// jitter by default (``jitterRandom``). A job whose retries run out ends in the dead-letter
    /// inbox, which the drain leaves alone.
    ///
    /// ```swift
    /// let result = try await testing.drain()
    /// #expect(result.count(.failed) == 2 && result.completed.count == 1)
    /// ```
    ///
    /// - Parameters:
    ///   - queues: the queues to drain. Default: empty, every queue with waiting jobs (looked up
    ///     again after each attempt, so follow-ups in other queues run too).
    ///   - advancingClock: whether to move the clock to jobs scheduled later. With `false`, only
    ///     the jobs due now run (and follow-ups due now); the rest are in ``DrainResult/waiting``.
    ///     Default: `true`.
    ///   - maxRuns: the most attempts to run. Default: `1000`.
    /// - Throws: ``JobTestingError/unregisteredType(_:)`` for a due job whose type is not in
    ///   ``JobTesting``'s `types` (put back unchanged first), ``JobTestingError/drainLimitReached(maxRuns:)``
    ///   when jobs are still due after `maxRuns` attempts, or the store's error.
    public func drain(queues: [String] = [], advancingClock: Bool = true, maxRuns: Int = 1000) async throws -> DrainResult {
        var runs: [JobRun] = []
        while true {
            let names = queues.isEmpty ? try await waitingQueues() : queues
            guard !names.isEmpty else { break }
            let now = clock.now()
            let claimed = try await store.claim(ClaimRequest(
                queues: names, limit: 1, worker: workerID, now: now, leaseUntil: now.adding(Self.leaseDuration)
            ))
            if let job = claimed.first {
                guard let runner = registry.entry(for: job.type) else {
                    try await putBack(job)
                    throw JobTestingError.unregisteredType(job.type)
                }
                guard runs.count < maxRuns else {
                    try await putBack(job)
                    throw JobTestingError.drainLimitReached(maxRuns: maxRuns)
                }
                runs.append(try await run(job, runner))
                continue
            }
            guard advancingClock else { break }
            let later = try await Self.all(store, JobFilter(states: JobState.claimable, queues: names)).map(\.runAt).filter { $0 > now }
            guard let next = later.min() else { break }
            // A microsecond past the run time: stores keep times in microseconds.
            clock.advance(by: .interval(next.timeIntervalSince(now)) + .microseconds(1))
        }
        let waiting = try await Self.all(store, JobFilter(states: JobState.claimable, queues: queues))
        return DrainResult(runs: runs, waiting: waiting)
    }

    /// The queues holding jobs that wait to run.
    private func waitingQueues() async throws -> [String] {
        Set(try await store.counts().filter { JobState.claimable.contains($0.state) }.map(\.queue)).sorted()
    }

    /// Releases a claimed job unchanged: no attempt used, due again at its run time.
    private func putBack(_ job: ClaimedJob) async throws {
        let now = clock.now()
        try await record(AttemptFinish(
            lease: job.lease, attempt: job.attempt, worker: workerID, startedAt: now, endedAt: now,
            outcome: .interrupted, next: .reschedule(at: job.runAt)
        ))
    }
}
