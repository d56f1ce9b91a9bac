import Foundation
import Surety
import SuretyViews

/// How jobs, attempts and audit rows look in `--json` output and in text. The JSON is the shared
/// views' (``JobView``, ``AttemptView``, ``AuditView`` in SuretyViews, the same objects the
/// dashboard's /api returns), redacted by ``ViewRedaction``: the payload redacted through the
/// registry (wholly masked for types this build does not know), the unique key, error messages
/// and audit reasons scrubbed of the payload's secret values. In text every stored value is one
/// field, its control characters escaped (``TerminalText/field(_:)``).
struct Views {
    let registry: JobRegistry

    var redaction: ViewRedaction { ViewRedaction(registry: registry) }

    // MARK: JSON

    func json(_ job: JobRecord) -> JSONValue {
        JSONValue(encoding: JobView(job, redaction: redaction))
    }

    /// `{"job": …, "attempts": […], "audit": […]}` (``JobDetailView``).
    func jsonDetail(_ job: JobRecord, attempts: [AttemptRecord], audit: [AuditRecord]) -> JSONValue {
        JSONValue(encoding: JobDetailView(job, attempts: attempts, audit: audit, redaction: redaction))
    }

    /// Audit rows with the payload's secret values scrubbed from their reasons, as in the JSON
    /// (``ViewRedaction/text(_:of:)``).
    func scrubbed(_ audit: [AuditRecord], of job: JobRecord) -> [AuditRecord] {
        audit.map { row in
            var row = row
            row.reason = redaction.text(row.reason, of: job)
            return row
        }
    }

    /// `{"jobs": […], "next_before_id": id|null}`: pass `next_before_id` as `--before-id` for the
    /// next page; `null` when this page was not full.
    func jsonList(_ jobs: [JobRecord], limit: Int) -> JSONValue {
        .object([
            "jobs": .array(jobs.map { json($0) }),
            "next_before_id": jobs.count >= limit ? (jobs.last.map { .int($0.id.rawValue) } ?? .null) : .null,
        ])
    }

    // MARK: Text

    func redactedPayload(_ job: JobRecord) -> String {
        registry.redactedPayload(job.payload, type: job.type)
    }

    /// The unique key with the payload's secret values scrubbed (keys are often built from the
    /// job's fields, secret ones included), wholly masked for a type this build does not know.
    func uniqueKey(_ job: JobRecord) -> String? {
        job.uniqueKey.map { redaction.key($0, of: job) }
    }

    /// What replaces a value that cannot be scrubbed because the job's type is unknown here.
    static let unknownTypeMask = ViewRedaction.unknownTypeMask

    /// Shorthand for ``TerminalText/field(_:)``.
    private func f(_ text: String) -> String { TerminalText.field(text) }

    func listTable(_ jobs: [JobRecord]) -> String {
        let rows = jobs.map { job -> [String] in
            let detail: String
            if let reason = job.deadReason {
                detail = "\(reason.rawValue): \(job.lastError.map { "\($0.type): \($0.message)" } ?? "")"
            } else if let error = job.lastError, job.state != .completed {
                detail = "\(error.type): \(error.message)"
            } else {
                detail = ""
            }
            let when: String
            switch job.state {
            case .completed, .dead, .cancelled: when = Formatting.timestamp(job.finishedAt)
            case .running: when = Formatting.timestamp(job.attemptedAt)
            case .scheduled, .available, .retrying: when = Formatting.timestamp(job.runAt)
            }
            return [
                "\(job.id)", job.state.rawValue, job.type, job.queue, job.tenant.rawValue,
                "\(job.attempt)/\(job.maxAttempts)", when, Formatting.clip(detail, 70),
            ]
        }
        return Formatting.table(["ID", "STATE", "TYPE", "QUEUE", "TENANT", "ATTEMPT", "WHEN", "LAST ERROR"], rows)
    }

    func detailText(_ job: JobRecord, attempts: [AttemptRecord], audit: [AuditRecord]) -> String {
        var lines: [String] = []
        lines.append("Job \(job.id) · \(f(job.type)) · tenant \(f(job.tenant.rawValue)) · queue \(f(job.queue)) · priority \(job.priority)")
        var state = "State:          \(job.state.rawValue)"
        if let reason = job.deadReason { state += " (\(reason.rawValue))" }
        if let finished = job.finishedAt { state += " since \(Formatting.timestamp(finished))" }
        if job.state == .running, let by = job.attemptedBy {
            state += " on \(f(by)), lease until \(Formatting.timestamp(job.leaseUntil))"
        }
        if JobState.claimable.contains(job.state) { state += ", runs at \(Formatting.timestamp(job.runAt))" }
        lines.append(state)
        lines.append("Payload:        \(f(redactedPayload(job)))")
        lines.append("Correlation:    \(Formatting.pairs(job.correlation))")
        lines.append("Tags:           \(job.tags.isEmpty ? "-" : f(job.tags.joined(separator: ", ")))")
        if let key = uniqueKey(job) { lines.append("Unique key:     \(f(key)) (\(job.uniqueScope.rawValue))") }
        lines.append("Enqueued:       \(Formatting.timestamp(job.enqueuedAt))")
        lines.append("Attempts:       \(job.attempt) of \(job.maxAttempts)")
        if let error = job.lastError {
            lines.append("Last error:     \(f(error.type)) (\(error.errorClass.rawValue)): \(f(error.message))")
        }
        if let note = job.note { lines.append("Note:           \(f(redaction.text(note, of: job)))") }
        lines.append("")
        lines.append("Attempt history:")
        if attempts.isEmpty {
            lines.append("  (no attempts yet)")
        } else {
            let rows = attempts.map { attempt -> [String] in
                [
                    "\(attempt.attempt)", attempt.worker, Formatting.timestamp(attempt.startedAt),
                    attempt.endedAt == nil ? "running" : Formatting.duration(attempt.duration),
                    attempt.outcome?.rawValue ?? "running",
                    attempt.error.map { "\($0.type): \($0.message)" } ?? "",
                ]
            }
            lines.append(Formatting.table(["#", "WORKER", "STARTED", "DURATION", "OUTCOME", "ERROR"], rows, indent: "  "))
        }
        lines.append("")
        lines.append("Audit:")
        if audit.isEmpty {
            lines.append("  (no operator actions)")
        } else {
            let rows = scrubbed(audit, of: job).map { [Formatting.timestamp($0.at), $0.action, $0.actor, $0.reason] }
            lines.append(Formatting.table(["AT", "ACTION", "BY", "REASON"], rows, indent: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
