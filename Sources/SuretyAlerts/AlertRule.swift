import Foundation
import Surety

/// One alert rule: what to watch, and from when it is worth a person's attention.
///
/// Every rule groups by its subject: the job type for `dead_letter`, `dead_letter_growth` and
/// `failure_ratio`, the queue for `queue_latency` and `throughput_stalled`. One alert exists per
/// rule and subject at a time (see ``AlertConfiguration`` for cooldown and escalation).
///
/// | kind | fires when | `threshold` (default) | `windowSeconds` (default) |
/// |---|---|---|---|
/// | `dead_letter` | a type has at least `threshold` jobs in the dead-letter inbox | jobs (1) | "arrived recently" in the text (900) |
/// | `dead_letter_growth` | at least `threshold` jobs of a type reached the inbox within the window | jobs (10) | 900 |
/// | `failure_ratio` | failed attempts / all ended attempts of a type in the window reaches `threshold`, over at least `minimumSample` attempts | ratio 0–1 (0.5) | 900 |
/// | `queue_latency` | a due job has waited longer than `threshold` seconds (the promise to users) | seconds (300) | unused (900) |
/// | `throughput_stalled` | a queue has due jobs that waited at least the window and no attempt of that queue ended within it | unused (0) | 300 |
public struct AlertRule: Sendable, Hashable, Codable {
    /// What a rule watches.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A job type reached the dead-letter inbox.
        case deadLetter = "dead_letter"
        /// The dead-letter inbox of a job type grew by `threshold` jobs within the window.
        case deadLetterGrowth = "dead_letter_growth"
        /// The share of failed attempts of a job type over `threshold`, with a minimum sample.
        case failureRatio = "failure_ratio"
        /// Queue latency above a promise: the longest-waiting due job waited over `threshold` s.
        case queueLatency = "queue_latency"
        /// No attempt of a queue ended within the window while due work waits.
        case throughputStalled = "throughput_stalled"

        /// Whether the rule's subject is a queue (else a job type).
        public var groupsByQueue: Bool { self == .queueLatency || self == .throughputStalled }

        var defaultThreshold: Double {
            switch self {
            case .deadLetter: 1
            case .deadLetterGrowth: 10
            case .failureRatio: 0.5
            case .queueLatency: 300
            case .throughputStalled: 0
            }
        }

        var defaultWindow: TimeInterval {
            switch self {
            case .throughputStalled: 300
            default: 900
            }
        }
    }

    /// The rule's name, unique in a configuration; part of every alert's key. Default: the kind
    /// with dashes (`dead-letter`, `failure-ratio`, ...).
    public var name: String
    public var kind: Kind
    /// The kind's threshold (see the table above for the unit and default).
    public var threshold: Double
    /// The window in seconds (see the table above). Default: 900, or 300 for `throughput_stalled`.
    public var windowSeconds: TimeInterval
    /// `failure_ratio` only: the fewest ended attempts in the window for the ratio to count.
    /// Default: 20.
    public var minimumSample: Int
    /// Only these job types; empty (the default) watches every type.
    public var jobTypes: [String]
    /// Only these queues; empty (the default) watches every queue.
    public var queues: [String]
    /// Replaces the built-in "what to do" text of this rule's alerts. Default: none.
    public var hint: String?

    /// A rule with the kind's defaults for every field not given.
    public init(
        _ kind: Kind, name: String? = nil, threshold: Double? = nil, windowSeconds: TimeInterval? = nil,
        minimumSample: Int = 20, jobTypes: [String] = [], queues: [String] = [], hint: String? = nil
    ) {
        self.kind = kind
        self.name = name ?? kind.rawValue.replacingOccurrences(of: "_", with: "-")
        self.threshold = threshold ?? kind.defaultThreshold
        self.windowSeconds = windowSeconds ?? kind.defaultWindow
        self.minimumSample = minimumSample
        self.jobTypes = jobTypes
        self.queues = queues
        self.hint = hint
    }

    /// One rule of each kind, with the defaults.
    public static let defaults: [AlertRule] = Kind.allCases.map { AlertRule($0) }

    /// The window as a duration.
    public var window: Duration { .interval(windowSeconds) }

    /// Whether the rule watches this job type and queue.
    func watches(type: String?, queue: String?) -> Bool {
        if let type, !jobTypes.isEmpty, !jobTypes.contains(type) { return false }
        if let queue, !queues.isEmpty, !queues.contains(queue) { return false }
        return true
    }

    /// - Throws: `SuretyError.Code.invalidArgument` naming the rule and the field.
    public func validate() throws {
        func bad(_ text: String) -> SuretyError { SuretyError(.invalidArgument, "alert rule '\(name)': \(text)") }
        guard !name.isEmpty, !name.contains("/") else { throw bad("the name must be non-empty and contain no '/'") }
        guard threshold.isFinite, threshold >= 0 else { throw bad("threshold must be a number >= 0, got \(threshold)") }
        if kind == .failureRatio, !(threshold > 0 && threshold <= 1) {
            throw bad("a failure_ratio threshold is a ratio between 0 and 1 (0.5 is 50%), got \(threshold)")
        }
        if kind == .deadLetter || kind == .deadLetterGrowth, threshold < 1 {
            throw bad("a \(kind.rawValue) threshold counts jobs and must be at least 1, got \(threshold)")
        }
        guard windowSeconds.isFinite, windowSeconds >= 1 else { throw bad("windowSeconds must be at least 1, got \(windowSeconds)") }
        guard minimumSample >= 1 else { throw bad("minimumSample must be at least 1, got \(minimumSample)") }
    }

    // MARK: Codable, with the kind's defaults for missing fields and unknown fields refused

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, kind, threshold, windowSeconds, minimumSample, jobTypes, queues, hint
    }

    public init(from decoder: any Decoder) throws {
        try AlertJSON.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "an alert rule")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try container.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            throw SuretyError(.invalidArgument, "unknown alert rule kind '\(kindText)'; expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(
            kind,
            name: try container.decodeIfPresent(String.self, forKey: .name),
            threshold: try container.decodeIfPresent(Double.self, forKey: .threshold),
            windowSeconds: try container.decodeIfPresent(Double.self, forKey: .windowSeconds),
            minimumSample: try container.decodeIfPresent(Int.self, forKey: .minimumSample) ?? 20,
            jobTypes: try container.decodeIfPresent([String].self, forKey: .jobTypes) ?? [],
            queues: try container.decodeIfPresent([String].self, forKey: .queues) ?? [],
            hint: try container.decodeIfPresent(String.self, forKey: .hint)
        )
    }
}

/// The JSON conventions of alerts: sorted keys, ISO 8601 dates with milliseconds in UTC.
public enum AlertJSON {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws when the object has a key outside `known`, so a typo ("treshold") is an error
    /// instead of a silently ignored setting.
    static func refuseUnknownKeys(_ decoder: any Decoder, known: [String], in what: String) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw SuretyError(.invalidArgument, "unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(what); known fields: \(known.joined(separator: ", "))")
        }
    }

    /// ISO 8601 with milliseconds, UTC: readable, and exact enough for cooldowns.
    public static let dateFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(dateFormat))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? dateFormat.parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(text)")
        }
        return decoder
    }
}
