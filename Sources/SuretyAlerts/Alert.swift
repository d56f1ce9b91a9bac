import Foundation
import Surety

/// What an alert says: what broke, who is affected, and what to do. Sinks receive it inside an
/// ``AlertNotice``; docs/alerts.md documents its JSON. It never contains a payload, and its error
/// message has the job type's secret values removed.
public struct Alert: Sendable, Hashable, Codable {
    /// `rule/subject`, for example `dead-letter/demo.email` or `queue-latency/email`.
    public var key: String
    /// The rule's name.
    public var rule: String
    public var kind: AlertRule.Kind
    /// The job type concerned (for queue rules: the type of the job that waited longest).
    public var jobType: String?
    /// The queue concerned (for type rules: the queue with most of the affected jobs; `queues`
    /// lists all of them).
    public var queue: String?
    /// Every queue with affected jobs.
    public var queues: [String]
    public var environment: String
    /// One line for a person: what broke and how much.
    public var summary: String
    /// When the failures behind the alert began, as far as the store knows.
    public var firstFailureAt: Date?
    /// When the alert started firing.
    public var firingSince: Date
    /// When the monitor last saw the condition.
    public var observedAt: Date
    /// When the condition cleared; `nil` while firing.
    public var resolvedAt: Date?
    /// The most recent error, redacted.
    public var lastError: ErrorSummary?
    /// How many jobs (or attempts, for `failure_ratio`) are affected.
    public var affected: Int
    /// The measured value the rule compares with its threshold (jobs, a ratio, or seconds).
    public var value: Double
    public var threshold: Double
    /// The dead-letter inbox of the job type (or queue) concerned.
    public var deadLetter: DeadLetterStatus
    /// What to do next.
    public var whatToDo: String

    public init(
        key: String, rule: String, kind: AlertRule.Kind, jobType: String?, queue: String?, queues: [String], environment: String,
        summary: String, firstFailureAt: Date?, firingSince: Date, observedAt: Date, resolvedAt: Date?, lastError: ErrorSummary?,
        affected: Int, value: Double, threshold: Double, deadLetter: DeadLetterStatus, whatToDo: String
    ) {
        self.key = key
        self.rule = rule
        self.kind = kind
        self.jobType = jobType
        self.queue = queue
        self.queues = queues
        self.environment = environment
        self.summary = summary
        self.firstFailureAt = firstFailureAt
        self.firingSince = firingSince
        self.observedAt = observedAt
        self.resolvedAt = resolvedAt
        self.lastError = lastError
        self.affected = affected
        self.value = value
        self.threshold = threshold
        self.deadLetter = deadLetter
        self.whatToDo = whatToDo
    }

    /// An error as alerts show it.
    public struct ErrorSummary: Sendable, Hashable, Codable {
        public var type: String
        /// `transient`, `permanent` or `unknown`.
        public var errorClass: String
        /// The message with secret values replaced by `[REDACTED]`.
        public var message: String
        /// The job that failed with it.
        public var jobID: JobID?
        public var at: Date?

        public init(type: String, errorClass: String, message: String, jobID: JobID?, at: Date?) {
            self.type = type
            self.errorClass = errorClass
            self.message = message
            self.jobID = jobID
            self.at = at
        }
    }

    /// Whether the affected jobs are reaching the dead-letter inbox.
    public struct DeadLetterStatus: Sendable, Hashable, Codable {
        /// Jobs in the inbox now.
        public var count: Int
        /// Of those, how many arrived within the rule's window.
        public var arrivedInWindow: Int

        public init(count: Int, arrivedInWindow: Int) {
            self.count = count
            self.arrivedInWindow = arrivedInWindow
        }
    }

    public var isFiring: Bool { resolvedAt == nil }
}

/// One message to the sinks about an alert.
public struct AlertNotice: Sendable, Hashable, Codable {
    /// Why this notice is sent.
    public enum Event: String, Sendable, Hashable, Codable, CaseIterable {
        /// The alert started firing.
        case firing
        /// It got worse (see ``AlertConfiguration/cooldownSeconds``).
        case worsened
        /// It is still firing after the escalation delay (sent to the escalation sinks).
        case escalated
        /// The condition cleared.
        case resolved
    }

    /// The JSON format's version. Currently 1.
    public var version: Int
    public var event: Event
    /// When the notice was made.
    public var sentAt: Date
    public var alert: Alert

    public init(event: Event, sentAt: Date, alert: Alert) {
        self.version = 1
        self.event = event
        self.sentAt = sentAt
        self.alert = alert
    }

    /// The documented JSON body (sorted keys, ISO 8601 dates with milliseconds, UTC).
    public func json() -> Data {
        // Encoding plain strings, numbers and dates cannot fail.
        (try? AlertJSON.encoder().encode(self)) ?? Data("{}".utf8)
    }

    /// One line for a person, e.g. `[FIRING production] demo.email: 12 jobs in the dead-letter inbox`.
    public var headline: String {
        "[\(event.rawValue.uppercased()) \(alert.environment)] \(alert.summary)"
    }
}
