import Foundation

/// The error an attempt ended with, as recorded (message scrubbed of secrets, bounded in length).
public struct AttemptError: Sendable, Hashable, Codable {
    /// The Swift type of the error, for example `"URLError"`.
    public var type: String
    /// The error's description with secret values removed, at most 2,000 characters.
    public var message: String
    public var errorClass: ErrorClass

    public static let maximumMessageLength = 2000

    /// NUL characters (U+0000) become U+FFFD: PostgreSQL's `text` cannot hold them, and one such
    /// message once failed a whole batch of outcomes (review item 1). Other characters are kept
    /// as they are; text output escapes control characters where it prints them.
    public init(type: String, message: String, errorClass: ErrorClass) {
        self.type = Self.storable(type)
        let message = Self.storable(message)
        self.message = message.count > Self.maximumMessageLength
            ? String(message.prefix(Self.maximumMessageLength)) + "…" : message
        self.errorClass = errorClass
    }

    /// `text` with every NUL replaced by U+FFFD.
    static func storable(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}

/// Where a job goes after an attempt.
public enum NextState: Sendable, Hashable {
    /// Done.
    case completed
    /// Retry at the given time; the attempt counts.
    case retry(at: Date)
    /// Run again at the given time without using an attempt (snooze, shutdown release).
    case reschedule(at: Date)
    /// To the dead-letter inbox.
    case dead(DeadReason)
    /// Cancelled while running.
    case cancelled
}

/// One attempt's end, as written to the store in a single conditional transition.
public struct AttemptFinish: Sendable, Hashable {
    public var lease: Lease
    public var attempt: Int
    public var worker: String
    public var startedAt: Date
    public var endedAt: Date
    public var outcome: AttemptOutcome
    public var error: AttemptError?
    public var next: NextState
    /// When set, the transition applies only if the lease expired at or before this time as
    /// well (the rescuer's condition), so a worker that just heartbeated keeps its job.
    public var onlyIfLeaseExpiredBy: Date?

    public init(
        lease: Lease, attempt: Int, worker: String, startedAt: Date, endedAt: Date,
        outcome: AttemptOutcome, error: AttemptError? = nil, next: NextState, onlyIfLeaseExpiredBy: Date? = nil
    ) {
        self.lease = lease
        self.attempt = attempt
        self.worker = worker
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.error = error
        self.next = next
        self.onlyIfLeaseExpiredBy = onlyIfLeaseExpiredBy
    }

    /// The attempt as a history row (written for every end but a success).
    public var historyRecord: AttemptRecord {
        AttemptRecord(jobID: lease.jobID, attempt: attempt, worker: worker, startedAt: startedAt, endedAt: endedAt, outcome: outcome, error: error)
    }
}

/// Whether a conditional write took effect.
public enum FenceResult: String, Sendable, Hashable {
    /// Written.
    case applied
    /// Refused: the job is no longer leased under this token (rescued, or finished elsewhere).
    case leaseLost = "lease_lost"
}
