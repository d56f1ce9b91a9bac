import Foundation

/// The job state machine as pure functions: a record and an event in, the new record (and the
/// history row to append) out, or the reason the event does not apply. The memory store runs
/// exactly this; SQL stores implement the same transitions in SQL, and the conformance suite
/// checks they agree. The diagram is in docs/state-machine.md.
public enum JobLifecycle {
    /// Whether a job in `state` with `runAt` may be claimed at `now`.
    public static func isClaimable(_ job: JobRecord, now: Date) -> Bool {
        JobState.claimable.contains(job.state) && job.runAt <= now
    }

    /// Whether the job currently holds its unique key.
    public static func holdsUniqueKey(_ job: JobRecord) -> Bool {
        guard job.uniqueKey != nil else { return false }
        switch job.uniqueScope {
        case .forever: return true
        case .whileActive: return JobState.active.contains(job.state)
        }
    }

    /// A claim: the job becomes `running` under a new lease.
    public static func claim(_ job: JobRecord, worker: String, token: Int64, now: Date, leaseUntil: Date) -> (JobRecord, ClaimedJob) {
        var next = job
        next.state = .running
        next.attempt += 1
        next.attemptedAt = now
        next.attemptedBy = worker
        next.leaseUntil = leaseUntil
        if next.firstAttemptAt == nil { next.firstAttemptAt = now }
        let claimed = ClaimedJob(
            id: job.id, type: job.type, queue: job.queue, priority: job.priority, tenant: job.tenant,
            payload: job.payload, attempt: next.attempt, maxAttempts: job.maxAttempts,
            lease: Lease(jobID: job.id, token: token), leaseUntil: leaseUntil, enqueuedAt: job.enqueuedAt,
            runAt: job.runAt, firstAttemptAt: next.firstAttemptAt ?? now, tags: job.tags, correlation: job.correlation,
            traceContext: job.traceContext
        )
        return (next, claimed)
    }

    /// Whether a write for `lease` may apply to `job` whose current token is `currentToken`.
    public static func holdsLease(_ job: JobRecord, currentToken: Int64?, lease: Lease) -> Bool {
        job.state == .running && currentToken == lease.token
    }

    /// The end of an attempt. Returns the new record and the history row to append
    /// (`nil` for a success, which lives on the job row).
    public static func finish(_ job: JobRecord, _ finish: AttemptFinish) -> (JobRecord, AttemptRecord?) {
        var next = job
        next.leaseUntil = nil
        let history = AttemptRecord(
            jobID: job.id, attempt: finish.attempt, worker: finish.worker, startedAt: finish.startedAt,
            endedAt: finish.endedAt, outcome: finish.outcome, error: finish.error
        )
        if let error = finish.error { next.lastError = error }
        switch finish.next {
        case .completed:
            next.state = .completed
            next.finishedAt = finish.endedAt
            return (next, finish.outcome == .succeeded ? nil : history)
        case .retry(let at):
            next.state = .retrying
            next.runAt = at
        case .reschedule(let at):
            next.state = at > finish.endedAt ? .scheduled : .available
            next.runAt = at
            next.attempt = max(0, next.attempt - 1)
        case .dead(let reason):
            next.state = .dead
            next.deadReason = reason
            next.finishedAt = finish.endedAt
        case .cancelled:
            next.state = .cancelled
            next.finishedAt = finish.endedAt
        }
        return (next, history)
    }

    /// An operator's requeue: dead or cancelled → available now (or scheduled until
    /// `action.releaseAt`), attempts reset.
    /// Returns `nil` with a reason when the job is in another state.
    public static func requeue(_ job: JobRecord, action: OperatorAction) -> Result<JobRecord, SkipReason> {
        guard job.state == .dead || job.state == .cancelled else {
            return .failure(SkipReason("job is \(job.state.rawValue); only dead or cancelled jobs can be requeued"))
        }
        var next = job
        let release = max(action.releaseAt ?? action.at, action.at)
        next.state = release > action.at ? .scheduled : .available
        next.runAt = release
        next.attempt = 0
        next.firstAttemptAt = nil
        next.deadReason = nil
        next.finishedAt = nil
        next.leaseUntil = nil
        next.note = action.reason
        return .success(next)
    }

    /// An operator's discard: dead → cancelled with a "won't retry" note.
    public static func discard(_ job: JobRecord, action: OperatorAction) -> Result<JobRecord, SkipReason> {
        guard job.state == .dead else {
            return .failure(SkipReason("job is \(job.state.rawValue); only dead jobs can be discarded"))
        }
        var next = job
        next.state = .cancelled
        next.note = "won't retry: \(action.reason)"
        return .success(next)
    }

    /// A cancel of a waiting job: scheduled, available or retrying → cancelled.
    public static func cancel(_ job: JobRecord, action: OperatorAction) -> Result<JobRecord, SkipReason> {
        guard JobState.claimable.contains(job.state) else {
            return .failure(SkipReason("job is \(job.state.rawValue); only waiting jobs can be cancelled"))
        }
        var next = job
        next.state = .cancelled
        next.finishedAt = action.at
        next.note = action.reason
        return .success(next)
    }

    /// Why a transition was not applied.
    public struct SkipReason: Error, Sendable, Hashable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }
}

extension JobLifecycle {
    /// The attempt that lives on the job row: the one running now, or a successful last one.
    /// Failed attempts are history rows; a success is not written twice.
    public static func attemptOnJobRow(_ job: JobRecord) -> AttemptRecord? {
        guard let startedAt = job.attemptedAt, let worker = job.attemptedBy else { return nil }
        switch job.state {
        case .running:
            return AttemptRecord(jobID: job.id, attempt: job.attempt, worker: worker, startedAt: startedAt, endedAt: nil, outcome: nil, error: nil)
        case .completed:
            return AttemptRecord(jobID: job.id, attempt: job.attempt, worker: worker, startedAt: startedAt, endedAt: job.finishedAt, outcome: .succeeded, error: nil)
        default:
            return nil
        }
    }
}
