import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Surety
import SuretyAlerts

/// Sends each alert notice as an HTTP POST of its JSON (`AlertNotice.json()`, documented
/// in docs/alerts.md) with `Content-Type: application/json`, plus the headers `X-Surety-Event`
/// (`firing`, `worsened`, `escalated`, `resolved`) and `X-Surety-Alert` (the alert's key).
///
/// - A 2xx answer is a delivery. A connection error, a timeout, a 408, a 429 or a 5xx is retried
///   up to `retries` times with exponential backoff (`backoff`, doubling, at most 30 s); any other
///   4xx fails at once (the request itself is wrong: retrying would not help).
/// - Each attempt is bounded by `timeout`; so the whole delivery is bounded too.
/// - The body is never logged (it holds no payloads or secrets, but it may hold customer data in
///   error messages).
public struct WebhookAlertSink: AlertSink {
    public let name: String
    public let url: String
    public let headers: [String: String]
    /// One attempt's time limit. Default: 10 s.
    public let timeout: Duration
    /// Retries after the first attempt. Default: 3.
    public let retries: Int
    /// The first retry's delay; it doubles for each next one, capped at 30 s. Default: 1 s.
    public let backoff: Duration
    let client: HTTPClient
    let clock: any SuretyClock
    let logger: Logger

    /// - Parameters:
    ///   - name: the sink's name in notices and logs. Default: `"webhook"`.
    ///   - url: where notices are posted (http or https).
    ///   - headers: sent with every request. Default: none.
    ///   - timeout: one attempt's time limit. Default: 10 s.
    ///   - retries: retries after the first attempt. Default: 3.
    ///   - backoff: the first retry's delay; it doubles for each next one, capped at 30 s. Default: 1 s.
    ///   - client: Default: `HTTPClient.shared`.
    ///   - clock: where backoff waits. Default: the system clock.
    ///   - logger: Default: a logger labelled `surety.alerts.webhook`.
    /// - Throws: `SuretyError.Code.invalidArgument` for a URL that is not http(s).
    public init(
        name: String = "webhook", url: String, headers: [String: String] = [:], timeout: Duration = .seconds(10), retries: Int = 3,
        backoff: Duration = .seconds(1), client: HTTPClient = .shared, clock: any SuretyClock = SystemClock(),
        logger: Logger = Logger(label: "surety.alerts.webhook")
    ) throws {
        try AlertSinkSpec(kind: .webhook, name: name, url: url, headers: headers, timeoutSeconds: timeout.timeInterval, retries: retries).validate()
        self.name = name
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.client = client
        self.clock = clock
        self.logger = logger
    }

    /// A sink from its configuration (`{"kind": "webhook", "url": ..., "timeoutSeconds": ..., "retries": ...}`).
    public init(_ spec: AlertSinkSpec, client: HTTPClient = .shared, clock: any SuretyClock = SystemClock(),
                logger: Logger = Logger(label: "surety.alerts.webhook")) throws {
        try self.init(name: spec.name, url: spec.url ?? "", headers: spec.headers, timeout: .interval(spec.timeoutSeconds),
                      retries: spec.retries, client: client, clock: clock, logger: logger)
    }

    public func deliver(_ notice: AlertNotice) async throws {
        let body = notice.json()
        var lastProblem = ""
        for attempt in 0...retries {
            if attempt > 0 {
                let delay = min(backoff.timeInterval * pow(2, Double(attempt - 1)), 30)
                try await clock.sleep(for: .interval(delay))
            }
            switch await post(body, notice: notice) {
            case .delivered:
                if attempt > 0 { logger.info("alert webhook delivered after retries", metadata: ["sink": "\(name)", "attempts": "\(attempt + 1)"]) }
                return
            case .rejected(let problem):
                throw SuretyError(.alertDeliveryFailed, "alert sink '\(name)': the webhook refused the notice (\(problem)); not retried")
            case .retryable(let problem):
                lastProblem = problem
                logger.warning("alert webhook attempt failed", metadata: [
                    "sink": "\(name)", "attempt": "\(attempt + 1)", "of": "\(retries + 1)", "problem": "\(problem)",
                ])
            }
        }
        throw SuretyError(.alertDeliveryFailed, "alert sink '\(name)': the webhook failed \(retries + 1) time\(retries == 0 ? "" : "s"); last: \(lastProblem)")
    }

    enum Attempt {
        case delivered
        case retryable(String)
        case rejected(String)
    }

    private func post(_ body: Data, notice: AlertNotice) async -> Attempt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "surety-alerts/1")
        request.headers.add(name: "X-Surety-Event", value: notice.event.rawValue)
        request.headers.add(name: "X-Surety-Alert", value: notice.alert.key)
        for (field, value) in headers.sorted(by: { $0.key < $1.key }) { request.headers.replaceOrAdd(name: field, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let nanoseconds = Int64(timeout.timeInterval * 1e9)
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds), logger: logger)
            // Read (and drop) the answer so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = response.status
            switch status.code {
            case 200..<300: return .delivered
            case 408, 429, 500...599: return .retryable("HTTP \(status.code)")
            default: return .rejected("HTTP \(status.code)")
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .retryable("no answer within \(timeout)")
        } catch {
            return .retryable("\(error)")
        }
    }
}

/// Builds every sink of a configuration: the core's `log` and `command`, and `webhook` here.
public enum WebhookAlertSinks {
    /// - Throws: `SuretyError.Code.invalidArgument` for an invalid sink.
    public static func make(_ specs: [AlertSinkSpec], client: HTTPClient = .shared, logger: Logger) throws -> [any AlertSink] {
        try specs.map { spec in
            try spec.validate()
            if let sink = AlertSinks.make(spec, logger: logger) { return sink }
            return try WebhookAlertSink(spec, client: client, logger: logger)
        }
    }
}
