import Foundation
import Surety
import SuretyAlerts
import SuretyViews

/// Turns store records into page contexts (display strings only; the templates escape them) and
/// into JSON objects for the API (jobs, attempts and audit rows are SuretyViews' ``JobView``,
/// ``AttemptView`` and ``AuditView``, the objects `surety jobs show --json` prints). Payloads
/// are always redacted, and error messages and unique keys scrubbed.
struct Presenter: Sendable {
    let data: DashboardData
    let base: String

    func jobHref(_ id: JobID) -> String { "\(base)/jobs/\(id.rawValue)" }

    func errorText(_ error: AttemptError?, of job: JobRecord) -> String {
        guard let error else { return "" }
        return "\(error.type) (\(error.errorClass.rawValue)): \(data.scrubbed(error.message, of: job))"
    }

    // MARK: Pages

    func row(_ job: JobRecord) -> [String: Any] {
        let when: Date? = switch job.state {
        case .completed, .dead, .cancelled: job.finishedAt
        case .running: job.attemptedAt
        case .scheduled, .available, .retrying: job.runAt
        }
        var lastError = ""
        if job.state != .completed, let error = job.lastError {
            lastError = String(errorText(error, of: job).prefix(160))
        }
        return [
            "id": String(job.id.rawValue), "href": jobHref(job.id), "state": job.state.rawValue, "type": job.type,
            "queue": job.queue, "tenant": job.tenant.rawValue, "attempt": job.attempt, "maxAttempts": job.maxAttempts,
            "when": Format.time(when), "lastError": lastError, "runAt": Format.time(job.runAt),
            "finishedAt": Format.time(job.finishedAt),
        ]
    }

    func detail(_ detail: DashboardData.Detail, principal: Principal) -> [String: Any] {
        let job = detail.job
        var context = row(job)
        context["priority"] = job.priority
        context["deadReason"] = job.deadReason?.rawValue ?? "-"
        context["enqueuedAt"] = Format.time(job.enqueuedAt)
        context["uniqueKey"] = data.redactedUniqueKey(job).map { "\($0) (\(job.uniqueScope.rawValue))" } ?? "-"
        context["tags"] = job.tags.isEmpty ? "-" : job.tags.joined(separator: ", ")
        context["correlation"] = job.correlation.isEmpty ? "-" : job.correlation.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        context["lastError"] = job.lastError.map { errorText($0, of: job) } ?? "-"
        context["note"] = job.note.map { data.scrubbed($0, of: job) } ?? "-"
        context["payload"] = prettyJSON(data.redactedPayload(job))
        context["canAct"] = principal.mayAct && (job.state == .dead || job.state == .cancelled)
        context["canDiscard"] = job.state == .dead
        context["canForce"] = job.state == .dead && job.deadReason == .undecodablePayload
        context["attempts"] = detail.attempts.map { attempt -> [String: Any] in
            [
                "attempt": attempt.attempt, "worker": attempt.worker, "startedAt": Format.time(attempt.startedAt),
                "duration": attempt.endedAt == nil ? "running" : Format.duration(attempt.duration),
                "outcome": attempt.outcome?.rawValue ?? "running",
                "outcomeClass": attempt.outcome == .succeeded ? "completed" : (attempt.outcome == nil ? "running" : "dead"),
                "error": errorText(attempt.error, of: job),
            ]
        }
        context["audit"] = detail.audit.map(auditRow)
        return context
    }

    func auditRow(_ record: AuditRecord) -> [String: Any] {
        ["at": Format.time(record.at), "action": record.action, "actor": record.actor, "reason": record.reason]
    }

    func prettyJSON(_ text: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: JSON

    /// A job as the API returns it: ``JobView`` (the object `surety jobs show --json` prints)
    /// plus `url`, the job's page.
    func json(_ job: JobRecord) -> JSONValue {
        var object = JSONValue(encoding: JobView(job, redaction: data.redaction)).members
        object["url"] = .string(jobHref(job.id))
        return .object(object)
    }

    /// `{"job", "attempts", "audit"}` (``JobDetailView``), the job with its `url`.
    func json(_ detail: DashboardData.Detail) -> JSONValue {
        var object = JSONValue(encoding: JobDetailView(detail.job, attempts: detail.attempts, audit: detail.audit, redaction: data.redaction)).members
        object["job"] = json(detail.job)
        return .object(object)
    }

    func json(_ summary: LatencySummary) -> [String: Any] {
        ["count": summary.count, "p50": nullable(summary.p50), "p95": nullable(summary.p95), "p99": nullable(summary.p99), "max": nullable(summary.max)]
    }

    func json(_ series: TimeSeries) -> [String: Any] {
        ["start": nullable(Format.iso(series.start)), "bucket_seconds": series.bucket, "completed": series.completed, "dead": series.failed]
    }

    func json(_ queue: DashboardData.QueueOverview) -> [String: Any] {
        var depth: [String: Int] = [:]
        for state in JobState.allCases { depth[state.rawValue] = queue.depth[state] ?? 0 }
        return [
            "queue": queue.queue, "depth": depth, "dead_letter_size": queue.deadLetterSize,
            "completed_last_hour": queue.completedLastHour, "dead_last_hour": queue.deadLastHour,
            "failed_attempts_last_hour": queue.failedAttemptsLastHour,
            "throughput_per_minute": queue.throughputPerMinute, "failure_rate": nullable(queue.failureRate),
            "pickup_latency_seconds": json(queue.pickup), "run_seconds": json(queue.runtime),
            "last_hour": json(queue.hour), "last_day": json(queue.day),
        ]
    }

    func json(_ result: BulkResult, action: String, dryRun: Bool) -> [String: Any] {
        [
            "action": action, "dry_run": dryRun, "changed": result.changed.map(\.rawValue),
            "skipped": result.skipped.map { ["id": $0.id.rawValue, "reason": $0.reason] },
        ]
    }

    // MARK: Alerts

    /// `escalated`, `firing` or `resolved`: Surety's rules have no configured severity; an alert
    /// still firing past the escalation delay is the higher level.
    static func severity(_ stored: StoredAlert) -> String {
        stored.isFiring ? (stored.state.escalatedAt == nil ? "firing" : "escalated") : "resolved"
    }

    func alertRow(_ stored: StoredAlert) -> [String: Any] {
        let alert = stored.alert
        var row: [String: Any] = [
            "key": stored.key, "rule": alert.rule, "kind": alert.kind.rawValue, "group": stored.subject,
            "severity": Self.severity(stored), "status": stored.state.status.rawValue, "summary": alert.summary,
            "environment": alert.environment, "since": Format.time(alert.firingSince), "firstFailure": Format.time(alert.firstFailureAt),
            "lastNotified": Format.time(stored.state.lastNoticeAt), "notices": stored.state.notices,
            "escalated": stored.state.escalatedAt.map(Format.time) ?? "-", "resolvedAt": Format.time(alert.resolvedAt),
            "affected": alert.affected, "value": Self.number(alert.value), "threshold": Self.number(alert.threshold),
            "deadLetter": alert.deadLetter.count, "whatToDo": alert.whatToDo,
            "lastError": alert.lastError.map { "\($0.type) (\($0.errorClass)): \($0.message)" } ?? "-",
        ]
        if let type = alert.jobType { row["deadHref"] = "\(base)/dead-letters?type=\(type.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? type)" }
        if let job = alert.lastError?.jobID { row["jobHref"] = jobHref(job) }
        return row
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3g", value)
    }

    func json(_ stored: StoredAlert) -> [String: Any] {
        let alert = stored.alert
        var lastError: Any = NSNull()
        if let error = alert.lastError {
            lastError = ["type": error.type, "class": error.errorClass, "message": error.message,
                         "job_id": nullable(error.jobID?.rawValue), "at": nullable(Format.iso(error.at))]
        }
        return [
            "key": stored.key, "rule": alert.rule, "kind": alert.kind.rawValue, "group": stored.subject,
            "job_type": nullable(alert.jobType), "queue": nullable(alert.queue), "queues": alert.queues,
            "environment": alert.environment, "status": stored.state.status.rawValue, "severity": Self.severity(stored),
            "summary": alert.summary, "firing_since": nullable(Format.iso(alert.firingSince)),
            "first_failure_at": nullable(Format.iso(alert.firstFailureAt)), "observed_at": nullable(Format.iso(alert.observedAt)),
            "resolved_at": nullable(Format.iso(alert.resolvedAt)), "last_notified_at": nullable(Format.iso(stored.state.lastNoticeAt)),
            "notices": stored.state.notices, "escalated_at": nullable(Format.iso(stored.state.escalatedAt)),
            "affected": alert.affected, "value": alert.value, "threshold": alert.threshold,
            "dead_letter": ["count": alert.deadLetter.count, "arrived_in_window": alert.deadLetter.arrivedInWindow],
            "last_error": lastError, "what_to_do": alert.whatToDo, "version": stored.version,
            "updated_at": nullable(Format.iso(stored.updatedAt)),
        ]
    }

    // MARK: Schedules

    static let nextRunCount = 3

    func scheduleRow(_ record: ScheduleRecord, now: Date, principal: Principal) -> [String: Any] {
        let d = record.definition
        let next = record.paused ? [] : record.nextRuns(after: now, count: Self.nextRunCount)
        return [
            "name": d.name, "cron": d.expression, "timeZone": d.timeZone, "jobType": d.jobType, "queue": d.queue,
            "tenant": d.tenant.rawValue, "overlap": d.overlap, "missed": d.missed, "paused": record.paused,
            "lastSlot": Format.time(record.lastSlot), "lastJobHref": record.lastJobID.map(jobHref) ?? "",
            "lastJob": record.lastJobID.map { String($0.rawValue) } ?? "",
            "nextRuns": record.paused ? "paused" : (next.isEmpty ? "none (the expression or time zone no longer parses)" : next.map(Format.time).joined(separator: ", ")),
            "changed": record.changedBy.map { "\(record.paused ? "paused" : "resumed") by \($0) at \(Format.time(record.changedAt)): \(record.changeReason ?? "")" } ?? "",
            "canAct": principal.mayAct,
        ]
    }

    func json(_ record: ScheduleRecord, now: Date) -> [String: Any] {
        let d = record.definition
        let next = record.paused ? [] : record.nextRuns(after: now, count: Self.nextRunCount)
        return [
            "name": d.name, "cron": d.expression, "time_zone": d.timeZone, "job_type": d.jobType, "queue": d.queue,
            "tenant": d.tenant.rawValue, "overlap": d.overlap, "missed": d.missed, "paused": record.paused,
            "changed_by": nullable(record.changedBy), "change_reason": nullable(record.changeReason),
            "changed_at": nullable(Format.iso(record.changedAt)), "last_slot": nullable(Format.iso(record.lastSlot)),
            "last_job_id": nullable(record.lastJobID?.rawValue), "next_runs": next.compactMap(Format.iso),
        ]
    }

    private func nullable(_ value: Any?) -> Any { value ?? NSNull() }
}
