import Foundation

/// The job state machine, decided in one place: an event in (``JobEvent``), the transition it
/// causes out (``JobTransition``: its guard and its column assignments), as a pure value. The
/// memory store applies it to records; each SQL store binds it to one statement per transition
/// kind (`SQL/JobTransitionSQL.swift` in each, with mirrored names). The diagram and the table of
/// rules are in docs/state-machine.md; Tests/SuretyTests/JobLifecycleTests.swift checks every
/// state against every event.
public enum JobLifecycle {
    /// The transition `event` causes, for whichever job it is applied to.
    public static func transition(for event: JobEvent) -> JobTransition {
        switch event {
        case .claim(let worker, let at, let leaseUntil):
            return JobTransition(
                requirement: .init(states: JobState.claimable, dueBy: at, refusal: "only waiting jobs can be claimed"),
                state: .running, attempt: .incremented, attemptedAt: at, attemptedBy: worker,
                firstAttemptAt: .setIfAbsent(at), lease: .granted(until: leaseUntil)
            )
        case .finish(let finish):
            return transition(finishing: finish)
        case .cancelOnRequest(let actor, let reason, let at):
            return JobTransition(
                requirement: .init(states: JobState.claimable, refusal: "only a job that would run again is cancelled by a request"),
                state: .cancelled, finishedAt: .set(at), note: .set(CancelRequest.note(actor: actor, reason: reason))
            )
        case .cancel(let action):
            return JobTransition(
                requirement: .init(states: JobState.claimable, refusal: "only waiting jobs can be cancelled"),
                state: .cancelled, lease: .released, finishedAt: .set(action.at), note: .set(action.reason)
            )
        case .requeue(let action):
            let release = max(action.releaseAt ?? action.at, action.at)
            let state: JobState = release > action.at ? .scheduled : .available
            return JobTransition(
                requirement: .init(states: requeuable, refusal: "only dead or cancelled jobs can be requeued"),
                state: state, runAt: release, attempt: .reset, firstAttemptAt: .cleared, lease: .released,
                finishedAt: .cleared, deadReason: .cleared, note: .set(action.reason), isDue: state == .available
            )
        case .discard(let action):
            return JobTransition(
                requirement: .init(states: discardable, refusal: "only dead jobs can be discarded"),
                state: .cancelled, lease: .released, note: .set("won't retry: \(action.reason)")
            )
        }
    }

    // The guards' state lists, built once (a transition is made per finish on the hot path).
    private static let finishable: [JobState] = [.running]
    private static let requeuable: [JobState] = [.dead, .cancelled]
    private static let discardable: [JobState] = [.dead]

    /// The end of an attempt: fenced on its lease token (and for the rescuer on the lease having
    /// expired); the lease is released, the error recorded, and the job goes where `finish.next` says.
    private static func transition(finishing finish: AttemptFinish) -> JobTransition {
        var transition = JobTransition(
            requirement: .init(
                states: finishable, leaseToken: finish.lease.token, leaseExpiredBy: finish.onlyIfLeaseExpiredBy,
                refusal: "only a running job can end an attempt"
            ),
            state: .running, lease: .released, lastError: finish.error, writesHistory: true
        )
        switch finish.next {
        case .completed:
            transition.state = .completed
            transition.finishedAt = .set(finish.endedAt)
            transition.writesHistory = finish.outcome != .succeeded
        case .retry(let at):
            transition.state = .retrying
            transition.runAt = at
            transition.isDue = at <= finish.endedAt
        case .reschedule(let at):
            transition.state = at > finish.endedAt ? .scheduled : .available
            transition.runAt = at
            transition.attempt = .givenBack
            transition.isDue = at <= finish.endedAt
        case .dead(let reason):
            transition.state = .dead
            transition.deadReason = .set(reason)
            transition.finishedAt = .set(finish.endedAt)
        case .cancelled:
            transition.state = .cancelled
            transition.finishedAt = .set(finish.endedAt)
        }
        return transition
    }

    /// `event` applied to `job` whose current lease token is `leaseToken`: the new record, or
    /// why the event does not apply.
    public static func apply(_ event: JobEvent, to job: JobRecord, leaseToken: Int64? = nil) -> Result<JobRecord, SkipReason> {
        transition(for: event).apply(to: job, leaseToken: leaseToken)
    }

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

    /// Whether a write for `lease` may apply to `job` whose current token is `currentToken`.
    public static func holdsLease(_ job: JobRecord, currentToken: Int64?, lease: Lease) -> Bool {
        job.state == .running && currentToken == lease.token
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
