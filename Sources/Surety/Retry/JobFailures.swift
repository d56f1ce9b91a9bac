/// Thrown by a job to stop retrying: the job goes straight to the dead-letter inbox.
/// Use it for errors that another attempt cannot fix (a declined card, a deleted account).
public struct PermanentFailure: Error, Sendable, CustomStringConvertible {
    /// Why the job cannot succeed. Recorded (with secrets scrubbed) in the attempt history.
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Thrown by a job to try again later without using an attempt (a rate limit's Retry-After,
/// a resource that is not ready yet). The job returns to `scheduled`; its attempt count is
/// unchanged.
public struct Snooze: Error, Sendable, CustomStringConvertible {
    /// How long to wait before the next attempt.
    public var duration: Duration
    public init(for duration: Duration) { self.duration = duration }
    public var description: String { "snoozed for \(duration)" }
}

/// Errors that know whether retrying can help. Conform your own error types to skip the
/// classifier.
public protocol ClassifiedError: Error {
    /// How this error is to be treated.
    var errorClass: ErrorClass { get }
}

/// Whether an error is worth retrying.
public enum ErrorClass: String, Sendable, Hashable, Codable {
    /// Another attempt may succeed: retry with backoff while attempts and budget last.
    case transient
    /// Another attempt cannot succeed: send the job to the dead-letter inbox now.
    case permanent
}
