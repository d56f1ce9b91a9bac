import Foundation

/// What one ``JobEvent`` does to a job row, decided once by ``JobLifecycle/transition(for:)``:
/// the condition under which it applies and the column assignments it makes. A value with no
/// I/O: the memory store applies it to a ``JobRecord`` (``apply(to:leaseToken:)``), each SQL
/// store binds its fields to one statement per transition kind.
public struct JobTransition: Sendable, Hashable {
    /// When the transition applies; a store changes nothing otherwise.
    public var requirement: Requirement
    /// The new state.
    public var state: JobState
    /// The new `run_at`; `nil` leaves it.
    public var runAt: Date?
    public var attempt: AttemptChange
    /// When the attempt started and by which worker (a claim); `nil` leaves them.
    public var attemptedAt: Date?
    public var attemptedBy: String?
    public var firstAttemptAt: Assignment<Date>
    public var lease: LeaseChange
    public var finishedAt: Assignment<Date>
    public var deadReason: Assignment<DeadReason>
    /// The error to record as the job's last; `nil` leaves the last one.
    public var lastError: AttemptError?
    public var note: Assignment<String>
    /// Whether the attempt is written as a history row (every end of an attempt but a success,
    /// which lives on the job row).
    public var writesHistory: Bool
    /// The job is claimable at once afterwards (worth waking workers for).
    public var isDue: Bool

    public init(
        requirement: Requirement, state: JobState, runAt: Date? = nil, attempt: AttemptChange = .unchanged,
        attemptedAt: Date? = nil, attemptedBy: String? = nil, firstAttemptAt: Assignment<Date> = .unchanged,
        lease: LeaseChange = .unchanged, finishedAt: Assignment<Date> = .unchanged,
        deadReason: Assignment<DeadReason> = .unchanged, lastError: AttemptError? = nil,
        note: Assignment<String> = .unchanged, writesHistory: Bool = false, isDue: Bool = false
    ) {
        self.requirement = requirement
        self.state = state
        self.runAt = runAt
        self.attempt = attempt
        self.attemptedAt = attemptedAt
        self.attemptedBy = attemptedBy
        self.firstAttemptAt = firstAttemptAt
        self.lease = lease
        self.finishedAt = finishedAt
        self.deadReason = deadReason
        self.lastError = lastError
        self.note = note
        self.writesHistory = writesHistory
        self.isDue = isDue
    }

    /// The guard of a transition: the states it applies from, and the fences.
    public struct Requirement: Sendable, Hashable {
        /// The states the job must be in.
        public var states: [JobState]
        /// When set, the job's `run_at` must be at or before it (a claim takes due jobs only).
        public var dueBy: Date?
        /// When set, the job's current lease token must be this one (the attempt's fence).
        public var leaseToken: Int64?
        /// When set, the job's lease must have expired at or before it, or be absent (the
        /// rescuer's fence: a worker that just heartbeated keeps its job).
        public var leaseExpiredBy: Date?
        /// What a refusal by state says after "job is STATE; ".
        public var refusal: String

        public init(states: [JobState], dueBy: Date? = nil, leaseToken: Int64? = nil, leaseExpiredBy: Date? = nil, refusal: String) {
            self.states = states
            self.dueBy = dueBy
            self.leaseToken = leaseToken
            self.leaseExpiredBy = leaseExpiredBy
            self.refusal = refusal
        }

        /// Why the transition does not apply to `job` whose current lease token is `leaseToken`,
        /// or `nil` when it does.
        public func refusal(of job: JobRecord, leaseToken current: Int64?) -> JobLifecycle.SkipReason? {
            guard states.contains(job.state) else {
                return JobLifecycle.SkipReason("job is \(job.state.rawValue); \(refusal)")
            }
            if let dueBy, job.runAt > dueBy {
                return JobLifecycle.SkipReason("job is not due yet")
            }
            if let leaseToken, current != leaseToken {
                return JobLifecycle.SkipReason("the lease was lost: the job is leased under another token")
            }
            if let leaseExpiredBy, let until = job.leaseUntil, until > leaseExpiredBy {
                return JobLifecycle.SkipReason("the lease was renewed: it has not expired")
            }
            return nil
        }
    }

    /// How the attempt count changes.
    public enum AttemptChange: Sendable, Hashable {
        case unchanged
        /// +1: an attempt starts (a claim).
        case incremented
        /// −1, never below 0: the attempt is given back (snooze, shutdown release).
        case givenBack
        /// 0: the job starts over (a requeue).
        case reset
    }

    /// How a nullable column changes.
    public enum Assignment<Value: Sendable & Hashable>: Sendable, Hashable {
        case unchanged
        case set(Value)
        /// Set only when the column is empty (`coalesce(column, value)`).
        case setIfAbsent(Value)
        /// Set to NULL.
        case cleared

        /// The column's value after the assignment, given its value before.
        public func applied(to old: Value?) -> Value? {
            switch self {
            case .unchanged: old
            case .set(let value): value
            case .setIfAbsent(let value): old ?? value
            case .cleared: nil
            }
        }

        /// The value written, if any (`nil` for ``unchanged`` and ``cleared``).
        public var value: Value? {
            switch self {
            case .set(let value), .setIfAbsent(let value): value
            case .unchanged, .cleared: nil
            }
        }
    }

    /// What happens to the job's lease (its `lease_until` and token).
    public enum LeaseChange: Sendable, Hashable {
        case unchanged
        /// A new lease under a new random token, until the given time (a claim).
        case granted(until: Date)
        /// No lease: `lease_until` and the token are cleared.
        case released
    }

    /// Whether the new state keeps a ``UniqueScope/whileActive`` unique key held
    /// (``JobLifecycle/holdsUniqueKey(_:)``); a ``UniqueScope/forever`` key is always held.
    public var holdsWhileActiveKey: Bool { JobState.active.contains(state) }

    /// Whether this is a plain success of an attempt: completed, no error to record, fenced on
    /// the lease token alone (not a rescue's finish). SQL stores write such finishes, the common
    /// case, with a narrower statement that binds only the job, the token and `finished_at`.
    public var isPlainCompletion: Bool {
        state == .completed && runAt == nil && attempt == .unchanged && deadReason == .unchanged
            && lastError == nil && !writesHistory && requirement.leaseExpiredBy == nil && note == .unchanged
    }

    /// The job after the transition, or why it does not apply. `leaseToken` is the job's current
    /// token (which ``JobRecord`` does not carry); the new one, for a ``LeaseChange/granted(until:)``
    /// lease, is the store's to draw.
    public func apply(to job: JobRecord, leaseToken: Int64? = nil) -> Result<JobRecord, JobLifecycle.SkipReason> {
        if let refusal = requirement.refusal(of: job, leaseToken: leaseToken) { return .failure(refusal) }
        var next = job
        next.state = state
        if let runAt { next.runAt = runAt }
        switch attempt {
        case .unchanged: break
        case .incremented: next.attempt += 1
        case .givenBack: next.attempt = max(0, next.attempt - 1)
        case .reset: next.attempt = 0
        }
        if let attemptedAt { next.attemptedAt = attemptedAt }
        if let attemptedBy { next.attemptedBy = attemptedBy }
        next.firstAttemptAt = firstAttemptAt.applied(to: job.firstAttemptAt)
        switch lease {
        case .unchanged: break
        case .granted(let until): next.leaseUntil = until
        case .released: next.leaseUntil = nil
        }
        next.finishedAt = finishedAt.applied(to: job.finishedAt)
        next.deadReason = deadReason.applied(to: job.deadReason)
        if let lastError { next.lastError = lastError }
        next.note = note.applied(to: job.note)
        return .success(next)
    }
}
