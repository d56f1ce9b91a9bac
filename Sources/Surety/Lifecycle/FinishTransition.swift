import Foundation

/// What an ``AttemptFinish`` does to the job row, flattened for SQL stores to bind: the same
/// decision ``JobLifecycle/finish(_:_:)`` makes for the memory store.
public struct FinishTransition: Sendable, Hashable {
    public var state: JobState
    /// The new `run_at`, when the job will run again.
    public var runAt: Date?
    /// 1 when the attempt is given back (snooze, shutdown release), else 0.
    public var attemptDecrement: Int
    /// Set when the job reaches a terminal state.
    public var finishedAt: Date?
    public var deadReason: DeadReason?
    /// Whether the attempt is written as a history row (everything but a success).
    public var writesHistory: Bool
    /// The job is claimable at once (worth waking workers for).
    public var isDue: Bool

    /// Whether this is a plain success of `finish`: completed, no error to record, fenced on
    /// the lease token alone (not a rescue's finish). SQL stores write such finishes, the
    /// common case, with a narrower statement.
    public func isPlainCompletion(of finish: AttemptFinish) -> Bool {
        state == .completed && runAt == nil && attemptDecrement == 0 && deadReason == nil
            && !writesHistory && finish.error == nil && finish.onlyIfLeaseExpiredBy == nil
    }

    public init(_ finish: AttemptFinish) {
        runAt = nil
        attemptDecrement = 0
        finishedAt = nil
        deadReason = nil
        writesHistory = true
        isDue = false
        switch finish.next {
        case .completed:
            state = .completed
            finishedAt = finish.endedAt
            writesHistory = finish.outcome != .succeeded
        case .retry(let at):
            state = .retrying
            runAt = at
            isDue = at <= finish.endedAt
        case .reschedule(let at):
            state = at > finish.endedAt ? .scheduled : .available
            runAt = at
            attemptDecrement = 1
            isDue = at <= finish.endedAt
        case .dead(let reason):
            state = .dead
            deadReason = reason
            finishedAt = finish.endedAt
        case .cancelled:
            state = .cancelled
            finishedAt = finish.endedAt
        }
    }
}
