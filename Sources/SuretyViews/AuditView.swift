import Foundation
import Surety

/// AUDIT in docs/cli.md: `{"job_id", "action", "actor", "reason", "at"}`, the reason scrubbed of
/// the payload's secret values (``ViewRedaction``; a `resolve_effect` row names the effect's key).
public struct AuditView: Sendable, Hashable, Encodable {
    public var jobID: Int64
    /// `requeue`, `discard`, `cancel`, `cancel_request` or `resolve_effect`.
    public var action: String
    public var actor: String
    public var reason: String
    public var at: Date

    /// An operator action on `job`, its reason scrubbed by `redaction`.
    public init(_ record: AuditRecord, of job: JobRecord, redaction: ViewRedaction) {
        jobID = record.jobID.rawValue
        action = record.action
        actor = record.actor
        reason = redaction.text(record.reason, of: job)
        at = record.at
    }

    enum CodingKeys: String, CodingKey {
        case action, actor, reason, at
        case jobID = "job_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jobID, forKey: .jobID)
        try c.encode(action, forKey: .action)
        try c.encode(actor, forKey: .actor)
        try c.encode(reason, forKey: .reason)
        try c.encodeTime(at, forKey: .at)
    }
}
