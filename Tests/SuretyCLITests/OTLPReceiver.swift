import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A span as an OTLP/HTTP+JSON exporter sent it: ids in lowercase hex, attribute values as text.
struct ReceivedSpan: Sendable, CustomStringConvertible {
    var traceID: String
    var spanID: String
    var parentSpanID: String?
    var name: String
    /// OTLP's `SpanKind`: 2 server, 3 client, 4 producer, 5 consumer.
    var kind: Int
    var attributes: [String: String]
    var links: [ReceivedLink]
    /// OTLP's `Status.code`: 0 unset, 1 ok, 2 error.
    var statusCode: Int

    var description: String {
        "\(name) kind=\(kind) trace=\(traceID) span=\(spanID) parent=\(parentSpanID ?? "-") links=\(links.map { "\($0.traceID)/\($0.spanID)" }) \(attributes)"
    }
}

struct ReceivedLink: Sendable {
    var traceID: String
    var spanID: String
    var attributes: [String: String]
}

/// A log record as exported: its trace and span ids (hex), body and attributes.
struct ReceivedLogRecord: Sendable, CustomStringConvertible {
    var traceID: String?
    var spanID: String?
    var body: String
    var attributes: [String: String]

    var description: String { "\(body) trace=\(traceID ?? "-") span=\(spanID ?? "-") \(attributes)" }
}

/// A metric as exported: its name and the attributes of each of its data points.
struct ReceivedMetric: Sendable, CustomStringConvertible {
    var name: String
    var dataPoints: [[String: String]]

    var description: String { "\(name) \(dataPoints)" }
}

/// Everything received so far.
struct ReceivedTelemetry: Sendable {
    var spans: [ReceivedSpan] = []
    var logRecords: [ReceivedLogRecord] = []
    var metrics: [ReceivedMetric] = []
    /// Requests that could not be read as OTLP JSON (path, content type, why): a test fails on any.
    var refused: [String] = []
}

/// A small OTLP/HTTP receiver for tests: accepts `POST /v1/traces`, `/v1/logs` and `/v1/metrics`
/// with JSON bodies (the OTLP JSON encoding: ids in hex or base64), keeps what they carry, and
/// lets a test await a condition on everything received with a deadline.
final class OTLPReceiver: Sendable {
    private struct Waiter {
        var condition: @Sendable (ReceivedTelemetry) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var received = ReceivedTelemetry()
        var waiters: [UUID: Waiter] = [:]
    }

    private let state = Mutex(State())

    var received: ReceivedTelemetry { state.withLock { $0.received } }

    /// Runs a receiver on 127.0.0.1 (a free port) for the duration of `body`, which gets the
    /// receiver and its base URL (the value for `OTEL_EXPORTER_OTLP_ENDPOINT`).
    static func running<T: Sendable>(_ body: @Sendable (OTLPReceiver, String) async throws -> T) async throws -> T {
        let receiver = OTLPReceiver()
        let (ports, portReported) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "otlp.receiver")
        let app = Application(router: receiver.router(),
                              configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
            portReported.yield(channel.localAddress?.port ?? 0)
            portReported.finish()
        }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port != 0 else { throw CLITestError("the OTLP receiver did not report its port") }
            let result: T
            do {
                result = try await body(receiver, "http://127.0.0.1:\(port)")
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// Waits until `condition` holds for what was received, or throws after `timeout` with
    /// `what` and everything received so far.
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: @escaping @Sendable (ReceivedTelemetry) -> Bool) async throws {
        let id = UUID()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                        let holds = self.state.withLock { state -> Bool in
                            if condition(state.received) { return true }
                            if Task.isCancelled {
                                continuation.resume(throwing: CancellationError())
                                return false
                            }
                            state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                            return false
                        }
                        if holds { continuation.resume() }
                    }
                } onCancel: {
                    self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)   // the deadline, not a synchronisation
                let received = self.received
                throw CLITestError("""
                    timed out after \(timeout) waiting until \(what); received \(received.spans.count) spans, \
                    \(received.logRecords.count) log records, \(received.metrics.count) metrics, refused \(received.refused):
                    \(received.spans.map(\.description).joined(separator: "\n"))
                    \(received.logRecords.prefix(40).map(\.description).joined(separator: "\n"))
                    """)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func record(_ change: (inout ReceivedTelemetry) -> Void) {
        let satisfied = state.withLock { state -> [Waiter] in
            change(&state.received)
            let ready = state.waiters.filter { $0.value.condition(state.received) }
            for id in ready.keys { state.waiters.removeValue(forKey: id) }
            return Array(ready.values)
        }
        for waiter in satisfied { waiter.continuation.resume() }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        for signal in ["traces", "logs", "metrics"] {
            router.post("v1/\(signal)") { request, context -> Response in
                let body = try await request.body.collect(upTo: 64 << 20)
                let contentType = request.headers[.contentType] ?? "none"
                guard contentType.hasPrefix("application/json"),
                      let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                    self.record { $0.refused.append("/v1/\(signal) (\(contentType)): not an OTLP JSON object") }
                    return Response(status: .badRequest)
                }
                switch signal {
                case "traces": self.record { $0.spans += Self.spans(json) }
                case "logs": self.record { $0.logRecords += Self.logRecords(json) }
                default: self.record { $0.metrics += Self.metrics(json) }
                }
                // The exporter reads a successful response's body by its content type.
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
        }
        return router
    }

    // MARK: OTLP JSON

    private static func objects(_ value: Any?) -> [[String: Any]] { value as? [[String: Any]] ?? [] }

    private static func spans(_ json: [String: Any]) -> [ReceivedSpan] {
        objects(json["resourceSpans"]).flatMap { objects($0["scopeSpans"]) }.flatMap { objects($0["spans"]) }.map { span in
            ReceivedSpan(
                traceID: hex(span["traceId"]) ?? "", spanID: hex(span["spanId"]) ?? "", parentSpanID: hex(span["parentSpanId"]),
                name: span["name"] as? String ?? "", kind: integer(span["kind"]) ?? 0, attributes: attributes(span["attributes"]),
                links: objects(span["links"]).map { link in
                    ReceivedLink(traceID: hex(link["traceId"]) ?? "", spanID: hex(link["spanId"]) ?? "", attributes: attributes(link["attributes"]))
                },
                statusCode: integer((span["status"] as? [String: Any])?["code"]) ?? 0
            )
        }
    }

    private static func logRecords(_ json: [String: Any]) -> [ReceivedLogRecord] {
        objects(json["resourceLogs"]).flatMap { objects($0["scopeLogs"]) }.flatMap { objects($0["logRecords"]) }.map { record in
            ReceivedLogRecord(
                traceID: hex(record["traceId"]), spanID: hex(record["spanId"]),
                body: value(record["body"]) ?? "", attributes: attributes(record["attributes"])
            )
        }
    }

    private static func metrics(_ json: [String: Any]) -> [ReceivedMetric] {
        objects(json["resourceMetrics"]).flatMap { objects($0["scopeMetrics"]) }.flatMap { objects($0["metrics"]) }.map { metric in
            let data = ["sum", "gauge", "histogram", "exponentialHistogram", "summary"].lazy.compactMap { metric[$0] as? [String: Any] }.first
            return ReceivedMetric(name: metric["name"] as? String ?? "", dataPoints: objects(data?["dataPoints"]).map { attributes($0["attributes"]) })
        }
    }

    /// OTLP `KeyValue`s as text (an int64 arrives as a JSON string or number).
    private static func attributes(_ value: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in objects(value) {
            if let key = pair["key"] as? String { result[key] = Self.value(pair["value"]) ?? "" }
        }
        return result
    }

    private static func value(_ any: Any?) -> String? {
        guard let value = any as? [String: Any] else { return nil }
        if let string = value["stringValue"] as? String { return string }
        if let int = value["intValue"] { return "\(int)" }
        if let bool = value["boolValue"] as? Bool { return "\(bool)" }
        if let double = value["doubleValue"] { return "\(double)" }
        return nil
    }

    private static func integer(_ value: Any?) -> Int? {
        if let int = value as? Int { return int }
        if let string = value as? String { return Int(string) }
        return nil
    }

    /// A trace or span id in lowercase hex: OTLP JSON says hex, protobuf's JSON mapping writes
    /// bytes in base64, so both are read. `nil` for an absent or empty (all-zero) id.
    private static func hex(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        let hex: String
        if text.count % 2 == 0, text.count >= 16, text.allSatisfy(\.isHexDigit) {
            hex = text.lowercased()
        } else if let bytes = Data(base64Encoded: text) {
            hex = bytes.map { String(format: "%02x", $0) }.joined()
        } else {
            return nil
        }
        return hex.allSatisfy { $0 == "0" } ? nil : hex
    }
}
