import Foundation

/// A capability: the store can summarise what the alert rules watch (see `AlertMonitor` in SuretyAlerts).
///
/// Each method is one read (one statement in the SQL stores) and returns small aggregates, never
/// whole jobs. Error messages and payloads come back unredacted: the monitor redacts them with
/// the job type's ``Redactor`` before anything leaves the process.
public protocol AlertObservationsStore: JobStore {
    /// Per job type and queue, the attempts that ended in `[since, until]`: jobs completed
    /// (successes) and failed, timed-out or lost attempts (failures), with the newest failure.
    /// Groups with neither are left out.
    func attemptActivity(since: Date, until: Date) async throws -> [AttemptActivity]

    /// Per job type and queue, the jobs now in the dead-letter inbox: how many, how many arrived
    /// at or after `since`, and the newest one's error. Types with an empty inbox are left out.
    func deadLetterSummary(since: Date) async throws -> [DeadLetterSummary]

    /// Per queue, the jobs waiting to run (scheduled, available or retrying with `run_at <= now`):
    /// how many, and the one that has waited longest. Queues with none are left out.
    func waitingWork(now: Date) async throws -> [WaitingWork]
}

/// A failure as the alert rules see it: its error, when it happened, and the job's payload (only
/// to find secret values to scrub from the message; never shown).
public struct ObservedFailure: Sendable, Hashable, Codable {
    public var jobID: JobID
    public var at: Date
    public var error: AttemptError?
    /// The job's payload, unredacted. Used only to scrub secret values from the message.
    public var payload: String

    public init(jobID: JobID, at: Date, error: AttemptError?, payload: String) {
        self.jobID = jobID
        self.at = at
        self.error = error
        self.payload = payload
    }
}

/// Attempts of one job type in one queue that ended inside a window.
public struct AttemptActivity: Sendable, Hashable, Codable {
    public var type: String
    public var queue: String
    /// Jobs that completed in the window.
    public var succeeded: Int
    /// Attempts that failed, timed out or were lost in the window.
    public var failed: Int
    /// When the earliest failure in the window ended.
    public var firstFailureAt: Date?
    /// The newest failure in the window.
    public var lastFailure: ObservedFailure?

    public init(type: String, queue: String, succeeded: Int, failed: Int, firstFailureAt: Date? = nil, lastFailure: ObservedFailure? = nil) {
        self.type = type
        self.queue = queue
        self.succeeded = succeeded
        self.failed = failed
        self.firstFailureAt = firstFailureAt
        self.lastFailure = lastFailure
    }
}

extension AttemptActivity {
    /// Merges partial rows of one type and queue, as the SQL stores read them in one statement:
    /// a completions row (only `succeeded`) and a failures row (`failed` with the first and newest
    /// failure). The result is sorted by type, then queue.
    public static func merged(_ parts: [AttemptActivity]) -> [AttemptActivity] {
        var groups: [[String]: AttemptActivity] = [:]
        for part in parts {
            let key = [part.type, part.queue]
            var group = groups[key] ?? AttemptActivity(type: part.type, queue: part.queue, succeeded: 0, failed: 0)
            group.succeeded += part.succeeded
            if part.lastFailure != nil {
                group.failed += part.failed
                group.firstFailureAt = part.firstFailureAt
                group.lastFailure = part.lastFailure
            }
            groups[key] = group
        }
        return groups.values.sorted { ($0.type, $0.queue) < ($1.type, $1.queue) }
    }
}

/// The dead-letter inbox of one job type in one queue.
public struct DeadLetterSummary: Sendable, Hashable, Codable {
    public var type: String
    public var queue: String
    /// Jobs of this type and queue in the inbox now.
    public var count: Int
    /// Of those, the ones that reached the inbox at or after the window's start.
    public var arrivedSince: Int
    /// The earliest first attempt among the jobs in the inbox: when their failures began.
    public var firstFailureAt: Date?
    /// The job that reached the inbox last, with its last error.
    public var newest: ObservedFailure

    public init(type: String, queue: String, count: Int, arrivedSince: Int, firstFailureAt: Date?, newest: ObservedFailure) {
        self.type = type
        self.queue = queue
        self.count = count
        self.arrivedSince = arrivedSince
        self.firstFailureAt = firstFailureAt
        self.newest = newest
    }
}

/// Jobs of one queue that are due and waiting for a worker.
public struct WaitingWork: Sendable, Hashable, Codable {
    public var queue: String
    /// Due jobs waiting in the queue.
    public var count: Int
    /// The `run_at` of the job that has waited longest.
    public var oldestRunAt: Date
    /// That job's type.
    public var oldestType: String

    public init(queue: String, count: Int, oldestRunAt: Date, oldestType: String) {
        self.queue = queue
        self.count = count
        self.oldestRunAt = oldestRunAt
        self.oldestType = oldestType
    }
}
