import Foundation
import Surety

/// Everything the alert monitor needs to know, usually read from a JSON file
/// (`surety worker --alerts FILE`; docs/alerts.md shows one). Every field has a default, so `{}`
/// is a valid configuration: the five default rules, alerts in the log.
public struct AlertConfiguration: Sendable, Hashable, Codable {
    /// The name of the deployment, carried by every alert ("production", "staging").
    /// Default: `"default"`.
    public var environment: String
    /// How often the rules are evaluated. Default: 30 s.
    public var intervalSeconds: TimeInterval
    /// After a notice, no new notice for the same alert for this long unless it got
    /// ``worseningFactor`` times worse; after it, a notice when it got worse at all. Default: 900 s.
    public var cooldownSeconds: TimeInterval
    /// How much worse (value / value at the last notice) an alert must get to notify again during
    /// the cooldown. Default: 2 (twice as many dead jobs, twice the wait).
    public var worseningFactor: Double
    /// The rules. Default: one of each kind with its defaults (``AlertRule/defaults``).
    public var rules: [AlertRule]
    /// Where notices go. Default: the log.
    public var sinks: [AlertSinkSpec]
    /// A second set of sinks for alerts that keep firing. Default: none.
    public var escalation: Escalation?
    /// Resolved alerts are kept (for `surety alerts list --all`) this long. Default: 7 days.
    public var keepResolvedSeconds: TimeInterval

    /// Escalation: when an alert is still firing `afterSeconds` after it began, one notice goes to
    /// these sinks too (and its resolution later).
    public struct Escalation: Sendable, Hashable, Codable {
        /// Default: 900 s.
        public var afterSeconds: TimeInterval
        public var sinks: [AlertSinkSpec]

        public init(afterSeconds: TimeInterval = 900, sinks: [AlertSinkSpec]) {
            self.afterSeconds = afterSeconds
            self.sinks = sinks
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case afterSeconds, sinks }

        public init(from decoder: any Decoder) throws {
            try AlertJSON.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "escalation")
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                afterSeconds: try container.decodeIfPresent(Double.self, forKey: .afterSeconds) ?? 900,
                sinks: try container.decode([AlertSinkSpec].self, forKey: .sinks)
            )
        }
    }

    public init(
        environment: String = "default", intervalSeconds: TimeInterval = 30, cooldownSeconds: TimeInterval = 900,
        worseningFactor: Double = 2, rules: [AlertRule] = AlertRule.defaults, sinks: [AlertSinkSpec] = [.log],
        escalation: Escalation? = nil, keepResolvedSeconds: TimeInterval = 7 * 86_400
    ) {
        self.environment = environment
        self.intervalSeconds = intervalSeconds
        self.cooldownSeconds = cooldownSeconds
        self.worseningFactor = worseningFactor
        self.rules = rules
        self.sinks = sinks
        self.escalation = escalation
        self.keepResolvedSeconds = keepResolvedSeconds
    }

    /// The longest accepted ``intervalSeconds``: 86 400 (one day).
    public static let maximumIntervalSeconds: TimeInterval = 86_400
    /// The longest accepted sink `timeoutSeconds`: 3600 (one hour).
    public static let maximumSinkTimeoutSeconds: TimeInterval = 3600
    /// The longest accepted ``cooldownSeconds``, ``keepResolvedSeconds`` and escalation
    /// `afterSeconds`: ``Swift/Duration/maximumInterval`` (100 years).
    static let maximumSeconds = Duration.maximumInterval.timeInterval
    static let maximumSecondsText = "\(Int(Duration.maximumInterval.timeInterval)) (100 years)"

    /// Checks every field: ``intervalSeconds`` from 1 to ``maximumIntervalSeconds``, each sink's
    /// `timeoutSeconds` at most ``maximumSinkTimeoutSeconds``, other durations from 0 to 100 years.
    /// - Throws: `SuretyError.Code.invalidArgument` saying which field is wrong.
    public func validate() throws {
        func bad(_ text: String) -> SuretyError { SuretyError(.invalidArgument, "alert configuration: \(text)") }
        guard !environment.isEmpty else { throw bad("environment must not be empty") }
        guard intervalSeconds.isFinite, intervalSeconds >= 1 else { throw bad("intervalSeconds must be at least 1, got \(intervalSeconds)") }
        guard intervalSeconds <= Self.maximumIntervalSeconds else {
            throw bad("intervalSeconds must be between 1 and \(Int(Self.maximumIntervalSeconds)) (one day), got \(intervalSeconds)")
        }
        guard cooldownSeconds.isFinite, cooldownSeconds >= 0 else { throw bad("cooldownSeconds must not be negative") }
        guard cooldownSeconds <= Self.maximumSeconds else { throw bad("cooldownSeconds must be at most \(Self.maximumSecondsText), got \(cooldownSeconds)") }
        guard worseningFactor.isFinite, worseningFactor > 1 else { throw bad("worseningFactor must be greater than 1, got \(worseningFactor)") }
        guard keepResolvedSeconds.isFinite, keepResolvedSeconds >= 0 else { throw bad("keepResolvedSeconds must not be negative") }
        guard keepResolvedSeconds <= Self.maximumSeconds else { throw bad("keepResolvedSeconds must be at most \(Self.maximumSecondsText), got \(keepResolvedSeconds)") }
        for sink in sinks + (escalation?.sinks ?? []) where sink.timeoutSeconds > Self.maximumSinkTimeoutSeconds {
            throw bad("sink '\(sink.name)': timeoutSeconds must be greater than 0 and at most \(Int(Self.maximumSinkTimeoutSeconds)) (one hour), got \(sink.timeoutSeconds)")
        }
        for rule in rules { try rule.validate() }
        var names = Set<String>()
        for rule in rules where !names.insert(rule.name).inserted {
            throw bad("two rules are named '\(rule.name)'; give each a distinct \"name\"")
        }
        for sink in sinks { try sink.validate() }
        if let escalation {
            guard escalation.afterSeconds.isFinite, escalation.afterSeconds >= 0 else { throw bad("escalation.afterSeconds must not be negative") }
            guard escalation.afterSeconds <= Self.maximumSeconds else {
                throw bad("escalation.afterSeconds must be at most \(Self.maximumSecondsText), got \(escalation.afterSeconds)")
            }
            guard !escalation.sinks.isEmpty else { throw bad("escalation needs at least one sink") }
            for sink in escalation.sinks { try sink.validate() }
        }
    }

    /// Reads and validates a configuration from JSON.
    /// - Throws: `SuretyError.Code.invalidArgument` with what is wrong and where.
    public static func decode(json data: Data) throws -> AlertConfiguration {
        let configuration: AlertConfiguration
        do {
            configuration = try AlertJSON.decoder().decode(AlertConfiguration.self, from: data)
        } catch let error as SuretyError {
            throw error
        } catch let error as DecodingError {
            throw SuretyError(.invalidArgument, "the alert configuration is not valid: \(Self.describe(error))")
        } catch {
            throw SuretyError(.invalidArgument, "the alert configuration is not valid JSON")
        }
        try configuration.validate()
        return configuration
    }

    /// Reads and validates the configuration file at `path`.
    public static func load(path: String) throws -> AlertConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SuretyError(.invalidArgument, "cannot read the alert configuration '\(path)': \((error as NSError).localizedDescription)")
        }
        do {
            return try decode(json: data)
        } catch let error as SuretyError {
            throw SuretyError(error.code, "\(path): \(error.message)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(context.debugDescription) at \(path(context))"
        @unknown default: return "\(error)"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case environment, intervalSeconds, cooldownSeconds, worseningFactor, rules, sinks, escalation, keepResolvedSeconds
    }

    public init(from decoder: any Decoder) throws {
        try AlertJSON.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "the alert configuration")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AlertConfiguration()
        self.init(
            environment: try c.decodeIfPresent(String.self, forKey: .environment) ?? defaults.environment,
            intervalSeconds: try c.decodeIfPresent(Double.self, forKey: .intervalSeconds) ?? defaults.intervalSeconds,
            cooldownSeconds: try c.decodeIfPresent(Double.self, forKey: .cooldownSeconds) ?? defaults.cooldownSeconds,
            worseningFactor: try c.decodeIfPresent(Double.self, forKey: .worseningFactor) ?? defaults.worseningFactor,
            rules: try c.decodeIfPresent([AlertRule].self, forKey: .rules) ?? defaults.rules,
            sinks: AlertSinkSpec.distinctNames(try c.decodeIfPresent([AlertSinkSpec].self, forKey: .sinks) ?? defaults.sinks),
            escalation: try c.decodeIfPresent(Escalation.self, forKey: .escalation).map { .init(afterSeconds: $0.afterSeconds, sinks: AlertSinkSpec.distinctNames($0.sinks)) },
            keepResolvedSeconds: try c.decodeIfPresent(Double.self, forKey: .keepResolvedSeconds) ?? defaults.keepResolvedSeconds
        )
    }
}
