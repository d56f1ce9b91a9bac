import Foundation
import Surety

/// ATTEMPT in docs/cli.md: `{"attempt", "worker", "started_at", "ended_at", "duration_seconds",
/// "outcome", "error"}`; `ended_at`, `duration_seconds` and `outcome` are `null` while it runs.
public struct AttemptView: Sendable, Hashable, Encodable {
    public var attempt: Int
    public var worker: String
    public var startedAt: Date
    public var endedAt: Date?
    /// Rounded to milliseconds (``ViewTime/seconds(_:)``).
    public var durationSeconds: Double?
    public var outcome: String?
    public var error: ErrorView?

    /// An attempt of `job`, its error message scrubbed by `redaction`.
    public init(_ attempt: AttemptRecord, of job: JobRecord, redaction: ViewRedaction) {
        self.attempt = attempt.attempt
        worker = attempt.worker
        startedAt = attempt.startedAt
        endedAt = attempt.endedAt
        durationSeconds = ViewTime.seconds(attempt.duration)
        outcome = attempt.outcome?.rawValue
        error = attempt.error.map { ErrorView($0, of: job, redaction: redaction) }
    }

    enum CodingKeys: String, CodingKey {
        case attempt, worker, outcome, error
        case startedAt = "started_at", endedAt = "ended_at", durationSeconds = "duration_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(worker, forKey: .worker)
        try c.encodeTime(startedAt, forKey: .startedAt)
        try c.encodeTime(endedAt, forKey: .endedAt)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(error, forKey: .error)
    }
}
