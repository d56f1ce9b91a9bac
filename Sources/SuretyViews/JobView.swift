import Foundation
import Surety

/// JOB in docs/cli.md: one job as `surety jobs show --json` and the dashboard's `/api/jobs` print
/// it. Keys are snake_case, every key is present (`null` when it has no value), times are
/// ``ViewTime`` strings. The payload, unique key, error message and note pass through
/// ``ViewRedaction``.
public struct JobView: Sendable, Hashable, Encodable {
    public var id: Int64
    public var type: String
    public var queue: String
    public var priority: Int
    /// `@system` for system jobs.
    public var tenant: String
    public var state: String
    /// Redacted: an object for known types, a string when masked whole.
    public var payload: JSONValue
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var enqueuedAt: Date
    public var firstAttemptAt: Date?
    public var attemptedAt: Date?
    public var attemptedBy: String?
    public var leaseUntil: Date?
    public var finishedAt: Date?
    public var lastError: ErrorView?
    public var deadReason: String?
    public var uniqueKey: String?
    public var uniqueScope: String
    public var tags: [String]
    public var correlation: [String: String]
    /// The last operator note, scrubbed like an audit reason (it holds the discard's reason).
    public var note: String?

    /// `job` as operators see it, redacted by `redaction`.
    public init(_ job: JobRecord, redaction: ViewRedaction) {
        id = job.id.rawValue
        type = job.type
        queue = job.queue
        priority = job.priority
        tenant = job.tenant.rawValue
        state = job.state.rawValue
        payload = redaction.payload(job)
        attempt = job.attempt
        maxAttempts = job.maxAttempts
        runAt = job.runAt
        enqueuedAt = job.enqueuedAt
        firstAttemptAt = job.firstAttemptAt
        attemptedAt = job.attemptedAt
        attemptedBy = job.attemptedBy
        leaseUntil = job.leaseUntil
        finishedAt = job.finishedAt
        lastError = job.lastError.map { ErrorView($0, of: job, redaction: redaction) }
        deadReason = job.deadReason?.rawValue
        uniqueKey = job.uniqueKey.map { redaction.key($0, of: job) }
        uniqueScope = job.uniqueScope.rawValue
        tags = job.tags
        correlation = job.correlation
        note = job.note.map { redaction.text($0, of: job) }
    }

    enum CodingKeys: String, CodingKey {
        case id, type, queue, priority, tenant, state, payload, attempt, tags, correlation, note
        case maxAttempts = "max_attempts", runAt = "run_at", enqueuedAt = "enqueued_at"
        case firstAttemptAt = "first_attempt_at", attemptedAt = "attempted_at", attemptedBy = "attempted_by"
        case leaseUntil = "lease_until", finishedAt = "finished_at", lastError = "last_error"
        case deadReason = "dead_reason", uniqueKey = "unique_key", uniqueScope = "unique_scope"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(queue, forKey: .queue)
        try c.encode(priority, forKey: .priority)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(state, forKey: .state)
        try c.encode(payload, forKey: .payload)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(maxAttempts, forKey: .maxAttempts)
        try c.encodeTime(runAt, forKey: .runAt)
        try c.encodeTime(enqueuedAt, forKey: .enqueuedAt)
        try c.encodeTime(firstAttemptAt, forKey: .firstAttemptAt)
        try c.encodeTime(attemptedAt, forKey: .attemptedAt)
        try c.encode(attemptedBy, forKey: .attemptedBy)
        try c.encodeTime(leaseUntil, forKey: .leaseUntil)
        try c.encodeTime(finishedAt, forKey: .finishedAt)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(deadReason, forKey: .deadReason)
        try c.encode(uniqueKey, forKey: .uniqueKey)
        try c.encode(uniqueScope, forKey: .uniqueScope)
        try c.encode(tags, forKey: .tags)
        try c.encode(correlation, forKey: .correlation)
        try c.encode(note, forKey: .note)
    }
}
