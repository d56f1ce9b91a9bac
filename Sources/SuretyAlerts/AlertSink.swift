import Foundation
import Logging
import Surety

/// Somewhere alert notices go: the log, a program, a webhook (module `SuretyAlertWebhook`), or
/// your own. A sink bounds its own time (timeouts, a fixed number of retries) and throws when a
/// notice could not be delivered; the monitor logs that and carries on.
public protocol AlertSink: Sendable {
    /// A name for logs.
    var name: String { get }
    func deliver(_ notice: AlertNotice) async throws
}

/// Builds the core's sinks from their configuration.
public enum AlertSinks {
    /// A `log` or `command` sink; `nil` for a kind the core does not build (`webhook`: use
    /// `SuretyAlertWebhook.WebhookAlertSink`).
    public static func make(_ spec: AlertSinkSpec, logger: Logger) -> (any AlertSink)? {
        switch spec.kind {
        case .log: LogAlertSink(name: spec.name, logger: logger)
        case .command: CommandAlertSink(name: spec.name, command: spec.command, timeout: .interval(spec.timeoutSeconds), logger: logger)
        case .webhook: nil
        }
    }
}

/// Writes each notice as one log line: `warning` for firing, worsened and escalated, `notice` for
/// resolved, with the alert's fields as metadata (never a payload).
public struct LogAlertSink: AlertSink {
    public let name: String
    let logger: Logger

    public init(name: String = "log", logger: Logger) {
        self.name = name
        self.logger = logger
    }

    public func deliver(_ notice: AlertNotice) async throws {
        let alert = notice.alert
        var metadata: Logger.Metadata = [
            "alert": "\(alert.key)", "event": "\(notice.event.rawValue)", "rule": "\(alert.rule)",
            "environment": "\(alert.environment)", "affected": "\(alert.affected)",
            "dead_letter": "\(alert.deadLetter.count)", "firing_since": "\(alert.firingSince.formatted(AlertJSON.dateFormat))",
            "what_to_do": "\(alert.whatToDo)",
        ]
        if let type = alert.jobType { metadata["job_type"] = "\(type)" }
        if let queue = alert.queue { metadata["queue"] = "\(queue)" }
        if let first = alert.firstFailureAt { metadata["first_failure_at"] = "\(first.formatted(AlertJSON.dateFormat))" }
        if let error = alert.lastError {
            metadata["error_type"] = "\(error.type)"
            metadata["error_message"] = "\(error.message)"
        }
        logger.log(level: notice.event == .resolved ? .notice : .warning, "\(notice.headline)", metadata: metadata)
    }
}
