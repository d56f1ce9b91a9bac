import Foundation
import Surety

/// `{"job": JOB, "attempts": [ATTEMPT], "audit": [AUDIT]}`: what `surety jobs show ID --json` prints
/// and `GET /api/jobs/{id}` returns (the dashboard adds `url` to the job).
public struct JobDetailView: Sendable, Hashable, Encodable {
    public var job: JobView
    public var attempts: [AttemptView]
    public var audit: [AuditView]

    /// The job with its attempts and audit rows, all redacted by `redaction`.
    public init(_ job: JobRecord, attempts: [AttemptRecord], audit: [AuditRecord], redaction: ViewRedaction) {
        self.job = JobView(job, redaction: redaction)
        self.attempts = attempts.map { AttemptView($0, of: job, redaction: redaction) }
        self.audit = audit.map { AuditView($0, of: job, redaction: redaction) }
    }
}
