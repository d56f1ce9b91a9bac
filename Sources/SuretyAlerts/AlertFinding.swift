import Foundation
import Surety

/// A rule's condition holding for one subject (a job type or a queue) right now: the alert as it
/// would read, before the state machine decides whether anyone is told.
public struct AlertFinding: Sendable, Hashable {
    public var alert: Alert
    public var key: String { alert.key }
}

/// Turns observations into findings: the pure part of every rule. Redaction happens here, so
/// nothing unredacted leaves this type.
public struct AlertRuleEvaluator: Sendable {
    public var environment: String
    /// The redactor of a job type, or `nil` when the type is unknown (its error messages are then
    /// masked whole, since its secrets cannot be located).
    public var redactor: @Sendable (String) -> Redactor?

    public init(environment: String, redactor: @escaping @Sendable (String) -> Redactor?) {
        self.environment = environment
        self.redactor = redactor
    }

    /// The findings of every rule, keyed by alert key.
    public func findings(_ rules: [AlertRule], _ observations: AlertObservations) -> [String: AlertFinding] {
        var result: [String: AlertFinding] = [:]
        for rule in rules {
            for finding in findings(rule, observations) { result[finding.key] = finding }
        }
        return result
    }

    /// The findings of one rule.
    public func findings(_ rule: AlertRule, _ observations: AlertObservations) -> [AlertFinding] {
        switch rule.kind {
        case .deadLetter, .deadLetterGrowth: deadLetterFindings(rule, observations)
        case .failureRatio: failureRatioFindings(rule, observations)
        case .queueLatency, .throughputStalled: queueFindings(rule, observations)
        }
    }

    // MARK: Rules grouped by job type

    private func deadLetterFindings(_ rule: AlertRule, _ observations: AlertObservations) -> [AlertFinding] {
        let summaries = (observations.deadLetters[rule.windowSeconds] ?? []).filter { rule.watches(type: $0.type, queue: $0.queue) }
        let window = Self.describe(seconds: rule.windowSeconds)
        return Dictionary(grouping: summaries, by: \.type).sorted { $0.key < $1.key }.compactMap { type, parts in
            let count = parts.reduce(0) { $0 + $1.count }
            let arrived = parts.reduce(0) { $0 + $1.arrivedSince }
            let value = Double(rule.kind == .deadLetter ? count : arrived)
            guard value >= rule.threshold, value > 0 else { return nil }
            let newest = parts.max { ($0.newest.at, $0.newest.jobID) < ($1.newest.at, $1.newest.jobID) }!.newest
            let queues = parts.sorted { ($1.count, $0.queue) < ($0.count, $1.queue) }.map(\.queue)
            let lastError = errorSummary(type: type, newest)
            let summary: String
            if rule.kind == .deadLetter {
                summary = "\(type): \(Self.jobs(count)) in the dead-letter inbox (\(arrived) arrived in the last \(window))" + Self.suffix(lastError)
            } else {
                summary = "\(type): \(Self.jobs(arrived)) reached the dead-letter inbox in the last \(window) (\(count) there now)" + Self.suffix(lastError)
            }
            let hint = rule.hint ?? """
                Read the last error (surety dlq list --type \(type); surety dlq show ID), fix its cause (a rotated key, a \
                bad deploy, a provider outage), then requeue: surety dlq requeue --all-matching --type \(type) --by YOU \
                --reason WHY --dry-run, and again without --dry-run. Discard jobs that must not run again.
                """
            return AlertFinding(alert: Alert(
                key: "\(rule.name)/\(type)", rule: rule.name, kind: rule.kind, jobType: type, queue: queues.first, queues: queues,
                environment: environment, summary: summary, firstFailureAt: parts.compactMap(\.firstFailureAt).min(),
                firingSince: observations.now, observedAt: observations.now, resolvedAt: nil, lastError: lastError,
                affected: count, value: value, threshold: rule.threshold,
                deadLetter: .init(count: count, arrivedInWindow: arrived), whatToDo: hint
            ))
        }
    }

    private func failureRatioFindings(_ rule: AlertRule, _ observations: AlertObservations) -> [AlertFinding] {
        let activity = (observations.activity[rule.windowSeconds] ?? []).filter { rule.watches(type: $0.type, queue: $0.queue) }
        let dead = deadCounts(observations)
        let window = Self.describe(seconds: rule.windowSeconds)
        return Dictionary(grouping: activity, by: \.type).sorted { $0.key < $1.key }.compactMap { type, parts in
            let failed = parts.reduce(0) { $0 + $1.failed }
            let succeeded = parts.reduce(0) { $0 + $1.succeeded }
            let total = failed + succeeded
            guard total >= rule.minimumSample, total > 0 else { return nil }
            let ratio = Double(failed) / Double(total)
            guard ratio >= rule.threshold, failed > 0 else { return nil }
            let newest = parts.compactMap(\.lastFailure).max { ($0.at, $0.jobID) < ($1.at, $1.jobID) }
            let lastError = newest.flatMap { errorSummary(type: type, $0) }
            let queues = parts.sorted { ($1.failed, $0.queue) < ($0.failed, $1.queue) }.map(\.queue)
            let percent = Int((ratio * 100).rounded())
            let summary = "\(type): \(percent)% of attempts failed in the last \(window) (\(failed) of \(total))" + Self.suffix(lastError)
            let hint = rule.hint ?? """
                Jobs of \(type) are failing and retrying. Check the error and what changed when the failures began \
                (a deploy, a provider, a credential). Retries continue with backoff; jobs that exhaust them reach the \
                dead-letter inbox (surety dlq list --type \(type)).
                """
            let deadCount = dead.byType[type] ?? (0, 0)
            return AlertFinding(alert: Alert(
                key: "\(rule.name)/\(type)", rule: rule.name, kind: rule.kind, jobType: type, queue: queues.first, queues: queues,
                environment: environment, summary: summary, firstFailureAt: parts.compactMap(\.firstFailureAt).min(),
                firingSince: observations.now, observedAt: observations.now, resolvedAt: nil, lastError: lastError,
                affected: failed, value: ratio, threshold: rule.threshold,
                deadLetter: .init(count: deadCount.count, arrivedInWindow: deadCount.arrived), whatToDo: hint
            ))
        }
    }

    // MARK: Rules grouped by queue

    private func queueFindings(_ rule: AlertRule, _ observations: AlertObservations) -> [AlertFinding] {
        let now = observations.now
        let dead = deadCounts(observations)
        let window = Self.describe(seconds: rule.windowSeconds)
        let activity = observations.activity[rule.windowSeconds] ?? []
        return observations.waiting.filter { rule.watches(type: nil, queue: $0.queue) && $0.count > 0 }.sorted { $0.queue < $1.queue }.compactMap { work in
            let waited = max(0, now.timeIntervalSince(work.oldestRunAt))
            let value: Double
            let summary: String
            let hint: String
            switch rule.kind {
            case .queueLatency:
                guard waited > rule.threshold else { return nil }
                value = waited
                summary = "queue \(work.queue): the oldest due job (\(work.oldestType)) has waited \(Self.describe(seconds: waited)), over the promise of \(Self.describe(seconds: rule.threshold)); \(Self.jobs(work.count)) waiting"
                hint = rule.hint ?? """
                    Work in queue \(work.queue) waits longer than promised. Check that workers for this queue are running \
                    and not stuck (surety stats), whether a flood or a slow dependency holds them, and add workers or \
                    concurrency if the load is real.
                    """
            default:
                let ended = activity.filter { $0.queue == work.queue }.reduce(0) { $0 + $1.succeeded + $1.failed }
                guard ended == 0, waited >= rule.windowSeconds else { return nil }
                value = Double(work.count)
                summary = "queue \(work.queue): no job finished in the last \(window) while \(Self.jobs(work.count)) wait (the oldest for \(Self.describe(seconds: waited)))"
                hint = rule.hint ?? """
                    Nothing is processing queue \(work.queue). Check that a worker claims from it (surety worker --queue \
                    \(work.queue)), that workers are alive and can reach the store, and look for jobs stuck running.
                    """
            }
            let deadCount = dead.byQueue[work.queue] ?? (0, 0)
            return AlertFinding(alert: Alert(
                key: "\(rule.name)/\(work.queue)", rule: rule.name, kind: rule.kind, jobType: work.oldestType, queue: work.queue,
                queues: [work.queue], environment: environment, summary: summary, firstFailureAt: nil,
                firingSince: now, observedAt: now, resolvedAt: nil, lastError: nil, affected: work.count, value: value,
                threshold: rule.threshold, deadLetter: .init(count: deadCount.count, arrivedInWindow: deadCount.arrived), whatToDo: hint
            ))
        }
    }

    // MARK: Pieces

    private struct DeadCounts {
        var byType: [String: (count: Int, arrived: Int)] = [:]
        var byQueue: [String: (count: Int, arrived: Int)] = [:]
    }

    /// Dead-letter counts from the shortest window observed (any window gives the same totals).
    private func deadCounts(_ observations: AlertObservations) -> DeadCounts {
        var counts = DeadCounts()
        guard let window = observations.deadLetters.keys.min(), let summaries = observations.deadLetters[window] else { return counts }
        for summary in summaries {
            counts.byType[summary.type, default: (0, 0)].count += summary.count
            counts.byType[summary.type, default: (0, 0)].arrived += summary.arrivedSince
            counts.byQueue[summary.queue, default: (0, 0)].count += summary.count
            counts.byQueue[summary.queue, default: (0, 0)].arrived += summary.arrivedSince
        }
        return counts
    }

    /// The failure's error with the type's secrets scrubbed; masked whole for an unknown type.
    func errorSummary(type: String, _ failure: ObservedFailure) -> Alert.ErrorSummary? {
        guard let error = failure.error else { return nil }
        let message: String
        if let redactor = redactor(type) {
            message = redactor.scrub(error.message, payload: failure.payload)
        } else {
            message = "[REDACTED: unknown job type]"
        }
        return Alert.ErrorSummary(type: error.type, errorClass: error.errorClass.rawValue, message: message, jobID: failure.jobID, at: failure.at)
    }

    static func suffix(_ error: Alert.ErrorSummary?) -> String {
        guard let error else { return "" }
        let message = error.message.count > 200 ? String(error.message.prefix(200)) + "…" : error.message
        return ". Last error: \(error.type): \(message)"
    }

    static func jobs(_ count: Int) -> String { count == 1 ? "1 job" : "\(count) jobs" }

    /// "15 min", "90 s", "2 h".
    static func describe(seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600, s % 3600 == 0 { return "\(s / 3600) h" }
        if s >= 60, s % 60 == 0 { return "\(s / 60) min" }
        if s >= 120 { return "\(s / 60) min \(s % 60) s" }
        return "\(s) s"
    }
}
