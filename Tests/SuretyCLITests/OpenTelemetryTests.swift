import Foundation
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// OpenTelemetry end to end (issue 19): the Hummingbird example with swift-otel bootstrapped,
/// exporting OTLP/HTTP+JSON to a receiver this test runs (docs/telemetry.md).
@Suite("OpenTelemetry end to end")
struct OpenTelemetryTests {
    static let jobType = "shop.welcome-email"

    @Test("one trace holds the request, the enqueue and both attempts of the job (parented and linked, with tenant, attempt and outcome); log records carry the attempt's trace and span ids; job metrics arrive")
    func signupTraceLogsAndMetrics() async throws {
        try await OTLPReceiver.running { receiver, endpoint in
            let dir = try TempDir()
            let server = try HummingbirdShopTests.shop([], in: dir, name: "server", environment: [
                "SHOP_STORE": dir.file("shop.sqlite"), "SHOP_PORT": "0",
                "SHOP_FAIL_FIRST_SEND": "1",   // the first attempt fails with a transient error, the retry succeeds
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_SERVICE_NAME": "shop-under-test",
                // Export soon after each span, log record and metric reading (milliseconds).
                "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "500",
            ])
            defer { server.killIfRunning() }
            var base = ""
            try await eventually("the shop listens", timeout: .seconds(60)) {
                guard let line = server.stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) else { return false }
                base = String(line.dropFirst("listening on ".count))
                return true
            }
            let (status, id) = try await HummingbirdShopTests.post("\(base)/signup", tenant: "acme", body: #"{"email": "ann@acme.example"}"#)
            try #require(status == 201, "\(id) \(server.stderr)")

            // Both attempts' spans: the first fails (the hook), the second completes.
            let attemptsArrived: @Sendable (ReceivedTelemetry) -> Bool = { received in
                Self.attempts(of: id, in: received).contains { $0.attributes["surety.job.next"] == "completed" }
            }
            try await receiver.waitUntil("both attempts of job \(id) are exported", attemptsArrived)
            let spans = receiver.received.spans
            let attempts = Self.attempts(of: id, in: receiver.received).sorted { ($0.attributes["surety.job.attempt"] ?? "") < ($1.attributes["surety.job.attempt"] ?? "") }
            try #require(attempts.count == 2, "one span per attempt: \(attempts)")

            // The request's server span is the root of the trace.
            let request = try #require(spans.first { $0.kind == 2 && $0.attributes["http.route"] == "/signup" }, "the POST /signup server span: \(spans)")
            #expect(request.attributes["http.request.method"] == "POST")
            #expect(request.parentSpanID == nil, "the request span is the root")

            // The enqueue span: a producer span, the request's child, in the request's trace.
            let enqueue = try #require(spans.first { $0.name == "surety.enqueue \(Self.jobType)" }, "the enqueue span: \(spans)")
            #expect(enqueue.kind == 4)
            #expect(enqueue.traceID == request.traceID)
            #expect(enqueue.parentSpanID == request.spanID)
            #expect(enqueue.attributes["surety.tenant"] == "acme")
            #expect(enqueue.attributes["surety.job.type"] == Self.jobType)
            #expect(enqueue.attributes["surety.job.queue"] == "email")

            // Every attempt: a consumer span in the same trace, the enqueue span's child and linked to it.
            for (index, attempt) in attempts.enumerated() {
                #expect(attempt.kind == 5)
                #expect(attempt.traceID == request.traceID, "attempt \(index + 1) is in the request's trace")
                #expect(attempt.parentSpanID == enqueue.spanID, "attempt \(index + 1) is the enqueue span's child")
                #expect(attempt.links.contains { $0.traceID == enqueue.traceID && $0.spanID == enqueue.spanID && $0.attributes["surety.link"] == "enqueued_by" },
                        "attempt \(index + 1) links to the enqueue span: \(attempt)")
                #expect(attempt.attributes["surety.tenant"] == "acme")
                #expect(attempt.attributes["surety.job.attempt"] == "\(index + 1)")
                #expect(attempt.attributes["surety.job.type"] == Self.jobType)
            }
            #expect(attempts[0].attributes["surety.job.outcome"] == "failed")
            #expect(attempts[0].attributes["surety.job.next"] == "retry")
            #expect(attempts[0].attributes["surety.error.type"] == "OutboxUnavailable")
            #expect(attempts[0].statusCode == 2, "a failed attempt's status is error")
            #expect(attempts[1].attributes["surety.job.outcome"] == "succeeded")
            #expect(attempts[1].attributes["surety.job.next"] == "completed")
            #expect(attempts[1].statusCode == 1, "a successful attempt's status is ok")
            #expect(Set(spans.filter { $0.traceID == request.traceID }.map(\.spanID)).isSuperset(of: [request.spanID, enqueue.spanID, attempts[0].spanID, attempts[1].spanID]))

            // Log records: each attempt's "job attempt finished" line carries its trace and span ids.
            let trace = request.traceID, attemptSpans = attempts.map(\.spanID)
            try await receiver.waitUntil("both attempts' log records are exported") { received in
                attemptSpans.allSatisfy { span in
                    received.logRecords.contains { $0.traceID == trace && $0.spanID == span && $0.body == "job attempt finished" }
                }
            }
            let attemptLogs = receiver.received.logRecords.filter { $0.traceID == trace && $0.body == "job attempt finished" }
            #expect(attemptLogs.first { $0.spanID == attemptSpans[0] }?.attributes["outcome"] == "failed", "\(attemptLogs)")
            #expect(attemptLogs.first { $0.spanID == attemptSpans[1] }?.attributes["outcome"] == "succeeded", "\(attemptLogs)")
            // The same lines on standard output carry trace_id and span_id (swift-otel's metadata provider).
            try await eventually("the attempt's stdout log line carries its trace and span ids") {
                server.stdout.split(separator: "\n").contains { line in
                    line.contains("job attempt finished") && line.contains("trace_id=\(trace)") && line.contains("span_id=\(attemptSpans[1])")
                }
            }

            // Metrics: the job's completion and its retry reach the receiver, by queue and type.
            try await receiver.waitUntil("surety_jobs_completed_total and surety_jobs_retried_total are exported") { received in
                ["surety_jobs_completed_total", "surety_jobs_retried_total"].allSatisfy { name in
                    received.metrics.contains { metric in
                        metric.name == name && metric.dataPoints.contains { $0["type"] == Self.jobType && $0["queue"] == "email" }
                    }
                }
            }
            #expect(receiver.received.refused.isEmpty, "every export was OTLP JSON: \(receiver.received.refused)")

            server.send(SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.stderr)")
        }
    }

    /// The attempt spans of job `id`.
    static func attempts(of id: String, in received: ReceivedTelemetry) -> [ReceivedSpan] {
        received.spans.filter { $0.name == "surety.job \(jobType)" && $0.attributes["surety.job.id"] == id }
    }
}
