import AsyncHTTPClient
import Foundation
import Surety
import SuretyAlertWebhook
import SuretyAlerts
import SuretyTesting
import Testing

@Suite("Webhook alert sink (real HTTP on 127.0.0.1)")
struct WebhookAlertSinkTests {
    static func notice(_ event: AlertNotice.Event = .firing) -> AlertNotice {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let alert = Alert(
            key: "dead-letter/mail.send", rule: "dead-letter", kind: .deadLetter, jobType: "mail.send", queue: "email", queues: ["email"],
            environment: "production", summary: "mail.send: 12 jobs in the dead-letter inbox", firstFailureAt: at, firingSince: at,
            observedAt: at, resolvedAt: nil,
            lastError: .init(type: "Timeout", errorClass: "transient", message: "provider timed out", jobID: JobID(42), at: at),
            affected: 12, value: 12, threshold: 1, deadLetter: .init(count: 12, arrivedInWindow: 12), whatToDo: "fix the key, then requeue"
        )
        return AlertNotice(event: event, sentAt: at, alert: alert)
    }

    func withServer(_ script: [Int?], _ body: (WebhookServer, String) async throws -> Void) async throws {
        let server = WebhookServer(script: script)
        let url = try await server.start()
        do {
            try await body(server, url)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test("POSTs the documented JSON with its headers")
    func posts() async throws {
        try await withServer([]) { server, url in
            let sink = try WebhookAlertSink(url: url, headers: ["Authorization": "Bearer t0ken"])
            let notice = Self.notice()
            try await sink.deliver(notice)
            let request = try #require(server.requests.first)
            #expect(server.requests.count == 1 && request.method == "POST" && request.uri == "/hook")
            #expect(request.headers["content-type"] == "application/json" && request.headers["authorization"] == "Bearer t0ken")
            #expect(request.headers["x-surety-event"] == "firing" && request.headers["x-surety-alert"] == "dead-letter/mail.send")
            #expect(request.body == notice.json())
            let object = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
            let alert = try #require(object["alert"] as? [String: Any])
            #expect(object["version"] as? Int == 1 && object["event"] as? String == "firing")
            #expect(alert["environment"] as? String == "production" && alert["affected"] as? Int == 12)
            #expect((alert["deadLetter"] as? [String: Any])?["count"] as? Int == 12)
            #expect((alert["lastError"] as? [String: Any])?["message"] as? String == "provider timed out")
        }
    }

    @Test("retries a 500, a 503 and a request that times out, then succeeds")
    func retriesThenSucceeds() async throws {
        try await withServer([500, 503, nil, 200]) { server, url in
            let sink = try WebhookAlertSink(url: url, timeout: .milliseconds(500), retries: 3, backoff: .milliseconds(10))
            try await sink.deliver(Self.notice())
            #expect(server.requests.count == 4)
            #expect(Set(server.requests.map(\.body)).count == 1, "every attempt sends the same body")
        }
    }

    @Test("gives up after its retries with a clear error; a 4xx is not retried")
    func givesUp() async throws {
        try await withServer([500, 500, 500]) { server, url in
            let sink = try WebhookAlertSink(url: url, retries: 2, backoff: .milliseconds(10))
            do {
                try await sink.deliver(Self.notice())
                Issue.record("three 500s must fail the delivery")
            } catch let error as SuretyError {
                #expect(error.code == .alertDeliveryFailed && error.message.contains("failed 3 times; last: HTTP 500"))
            }
            #expect(server.requests.count == 3)
        }
        try await withServer([404]) { server, url in
            let sink = try WebhookAlertSink(url: url, retries: 3, backoff: .milliseconds(10))
            await #expect(throws: SuretyError.self) { try await sink.deliver(Self.notice()) }
            #expect(server.requests.count == 1)
        }
    }

    @Test("an unreachable server fails within the retries; a bad URL is refused up front")
    func unreachableAndBadURL() async throws {
        let sink = try WebhookAlertSink(url: "http://127.0.0.1:1/hook", timeout: .seconds(2), retries: 1, backoff: .milliseconds(10))
        await #expect(throws: SuretyError.self) { try await sink.deliver(Self.notice()) }
        #expect(throws: SuretyError.self) { try WebhookAlertSink(url: "ftp://example.com/hook") }
        #expect(throws: SuretyError.self) { try WebhookAlertSink(url: "not a url") }
    }

    @Test("a monitor with a webhook sink delivers its alert over HTTP, without the planted secret")
    func monitorOverHTTP() async throws {
        struct Mail: Job {
            static let name = "mail.send"
            static let secretFields: Set<String> = ["apiKey"]
            var apiKey: String
            func run(_ context: JobContext) async throws {}
        }
        let secret = "sk_live_WEBHOOK_PLANTED"
        try await withServer([503]) { server, url in
            let store = MemoryStore()
            let clock = TestClock()
            let now = clock.now()
            let id = try await store.enqueue([NewJob(type: Mail.name, queue: "email", priority: 0, tenant: .system,
                                                     payload: #"{"apiKey":"\#(secret)"}"#, runAt: now, enqueuedAt: now, maxAttempts: 1)])[0].id
            let claimed = try await store.claim(ClaimRequest(queues: ["email"], limit: 1, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
            _ = try await store.finish([AttemptFinish(
                lease: claimed[0].lease, attempt: 1, worker: "w", startedAt: now, endedAt: now, outcome: .failed,
                error: AttemptError(type: "Unauthorized", message: "key \(secret) rejected", errorClass: .permanent), next: .dead(.permanentError)
            )])
            let configuration = AlertConfiguration(environment: "production", rules: [AlertRule(.deadLetter)],
                                                   sinks: [AlertSinkSpec(kind: .webhook, url: url, retries: 2)])
            let sinks = try WebhookAlertSinks.make(configuration.sinks, logger: .init(label: "test"))
            let monitor = try AlertMonitor(store: store, configuration: configuration, sinks: sinks, registry: JobRegistry([Mail.self]), clock: clock)
            let pass = try await monitor.evaluateOnce()
            #expect(pass.failures.isEmpty && pass.deliveries.count == 1)
            #expect(server.requests.count == 2, "one 503, then delivered")
            let body = String(decoding: try #require(server.requests.last?.body), as: UTF8.self)
            #expect(body.contains("\"jobType\":\"mail.send\"") && body.contains("key [REDACTED] rejected") && body.contains("\"jobID\":\(id.rawValue)"))
            #expect(!body.contains(secret))
        }
    }
}
