import Foundation
import Surety

/// A sink as written in the configuration file. The core builds `log` and `command` sinks
/// (``AlertSinks/make(_:logger:)``); `webhook` sinks come from the `SuretyAlertWebhook` module, so
/// the core needs no HTTP client.
public struct AlertSinkSpec: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A log line per notice (swift-log), at `warning` for firing and `notice` for resolved.
        case log
        /// Runs a program per notice: the notice's JSON on standard input, `SURETY_ALERT_*`
        /// environment variables, killed after `timeoutSeconds`.
        case command
        /// An HTTP POST of the notice's JSON, with retries and a timeout.
        case webhook
    }

    public var kind: Kind
    /// A name for logs. Default: the kind.
    public var name: String
    /// `command`: the program and its arguments (no shell unless you name one, e.g.
    /// `["/bin/sh", "-c", "..."]`).
    public var command: [String]
    /// `webhook`: the URL (http or https).
    public var url: String?
    /// `webhook`: extra request headers (for example an authorization token). Default: none.
    public var headers: [String: String]
    /// `command` and `webhook`: the time limit of one delivery attempt. Default: 10 s.
    public var timeoutSeconds: TimeInterval
    /// `webhook`: how many times a failed POST (connection error, timeout, 5xx, 429) is retried,
    /// with exponential backoff from 1 s. Default: 3.
    public var retries: Int

    public init(
        kind: Kind, name: String? = nil, command: [String] = [], url: String? = nil, headers: [String: String] = [:],
        timeoutSeconds: TimeInterval = 10, retries: Int = 3
    ) {
        self.kind = kind
        self.name = name ?? kind.rawValue
        self.command = command
        self.url = url
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
    }

    /// The log sink.
    public static let log = AlertSinkSpec(kind: .log)

    /// The sinks with repeated names made distinct (`webhook`, `webhook-2`, ...): a notice a sink
    /// refused is retried to that sink by name.
    public static func distinctNames(_ sinks: [AlertSinkSpec]) -> [AlertSinkSpec] {
        var seen: [String: Int] = [:]
        return sinks.map { sink in
            var sink = sink
            let count = seen[sink.name, default: 0] + 1
            seen[sink.name] = count
            if count > 1 { sink.name = "\(sink.name)-\(count)" }
            return sink
        }
    }

    /// - Throws: `SuretyError.Code.invalidArgument` naming the sink and the field.
    public func validate() throws {
        func bad(_ text: String) -> SuretyError { SuretyError(.invalidArgument, "alert sink '\(name)': \(text)") }
        guard timeoutSeconds.isFinite, timeoutSeconds > 0 else { throw bad("timeoutSeconds must be greater than 0") }
        guard (0...20).contains(retries) else { throw bad("retries must be between 0 and 20, got \(retries)") }
        switch kind {
        case .log: break
        case .command:
            guard let program = command.first, !program.isEmpty else { throw bad("a command sink needs \"command\": [\"/path/to/program\", \"arg\", ...]") }
        case .webhook:
            guard let url, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", parsed.host != nil else {
                throw bad("a webhook sink needs \"url\": an http:// or https:// URL, got \(url.map { "'\($0)'" } ?? "none")")
            }
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, name, command, url, headers, timeoutSeconds, retries }

    public init(from decoder: any Decoder) throws {
        try AlertJSON.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), in: "an alert sink")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try c.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            throw SuretyError(.invalidArgument, "unknown alert sink kind '\(kindText)'; expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(
            kind: kind, name: try c.decodeIfPresent(String.self, forKey: .name),
            command: try c.decodeIfPresent([String].self, forKey: .command) ?? [],
            url: try c.decodeIfPresent(String.self, forKey: .url),
            headers: try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:],
            timeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 10,
            retries: try c.decodeIfPresent(Int.self, forKey: .retries) ?? 3
        )
    }
}
