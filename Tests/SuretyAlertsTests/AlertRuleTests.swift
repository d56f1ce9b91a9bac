import Foundation
import Surety
import SuretyAlerts
import SuretyTesting
import Testing

@Suite("Alert rules")
struct AlertRuleTests {
    let store = MemoryStore()
    let clock = TestClock()
    var fixture: AlertFixture { AlertFixture(store: store, clock: clock) }

    @Test("a job type reaching the dead-letter inbox fires one alert that says what broke, who is affected and what to do")
    func deadLetter() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        let started = clock.now()
        let pass0 = try await monitor.evaluateOnce()
        #expect(pass0.led && pass0.deliveries.isEmpty, "nothing fires on an empty store")
        let ids = try await fixture.run(.die, count: 2)
        clock.advance(by: .seconds(30))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing])
        let alert = try #require(sink.all.first?.alert)
        #expect(alert.key == "dead-letter/mail.send" && alert.rule == "dead-letter" && alert.kind == .deadLetter)
        #expect(alert.jobType == "mail.send" && alert.queue == "email" && alert.environment == "test")
        #expect(alert.firstFailureAt == started, "failures began at the first attempt")
        #expect(alert.firingSince == clock.now())
        #expect(alert.affected == 2 && alert.deadLetter.count == 2 && alert.deadLetter.arrivedInWindow == 2)
        #expect(alert.lastError?.type == "ProviderError" && alert.lastError?.jobID == ids[1])
        #expect(alert.lastError?.message == "401 unauthorized: key [REDACTED] was rotated")
        #expect(alert.summary.contains("2 jobs in the dead-letter inbox"))
        #expect(alert.whatToDo.contains("surety dlq requeue --all-matching --type mail.send"))
    }

    @Test("dead-letter growth fires when the window's arrivals reach the threshold, not before")
    func deadLetterGrowth() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetterGrowth, threshold: 3, windowSeconds: 600)]), sink: sink)
        try await fixture.run(.die, count: 2)
        clock.advance(by: .seconds(700))
        try await fixture.run(.die, count: 2)
        try await monitor.evaluateOnce()
        #expect(sink.all.isEmpty, "2 arrivals in the window (4 in the inbox) stay under a threshold of 3")
        try await fixture.run(.die)
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing])
        #expect(sink.all.first?.alert.value == 3 && sink.all.first?.alert.deadLetter.count == 5)
    }

    @Test("a failure ratio over the threshold fires only with the minimum sample")
    func failureRatio() async throws {
        let sink = RecordingSink()
        let rule = AlertRule(.failureRatio, threshold: 0.5, windowSeconds: 900, minimumSample: 10)
        let monitor = try makeMonitor(store, clock, .only([rule]), sink: sink)
        try await fixture.run(.fail, count: 6)
        try await fixture.run(.succeed, count: 2)
        try await monitor.evaluateOnce()
        #expect(sink.all.isEmpty, "8 attempts are under the minimum sample of 10")
        try await fixture.run(.succeed, count: 2)
        clock.advance(by: .seconds(1))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing])
        let alert = try #require(sink.all.first?.alert)
        #expect(alert.value == 0.6 && alert.affected == 6 && alert.summary.contains("60% of attempts failed"))
        #expect(alert.lastError?.message.contains(plantedSecret) == false)

        // Successes bring the ratio under the threshold: resolved.
        try await fixture.run(.succeed, count: 4)
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .resolved])
    }

    @Test("queue latency above the promise fires per queue")
    func queueLatency() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.queueLatency, threshold: 120)]), sink: sink)
        try await fixture.wait(queue: "slow", count: 3)
        clock.advance(by: .seconds(120))
        try await monitor.evaluateOnce()
        #expect(sink.all.isEmpty, "waiting exactly the promise is not over it")
        clock.advance(by: .seconds(1))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing])
        let alert = try #require(sink.all.first?.alert)
        #expect(alert.key == "queue-latency/slow" && alert.queue == "slow" && alert.jobType == "mail.send" && alert.affected == 3)
        #expect(alert.value == 121)
    }

    @Test("throughput at zero while work waits fires; any finished attempt in the window keeps it quiet")
    func throughputStalled() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.throughputStalled, windowSeconds: 300)]), sink: sink)
        try await fixture.run(.succeed, queue: "busy")
        try await fixture.wait(queue: "busy")
        try await fixture.wait(queue: "stuck")
        clock.advance(by: .seconds(299))
        try await monitor.evaluateOnce()
        #expect(sink.all.isEmpty, "work that waited less than the window does not count")
        clock.advance(by: .seconds(1))
        try await monitor.evaluateOnce()
        #expect(sink.all.map(\.alert.key) == ["throughput-stalled/stuck"], "busy finished a job in the window at its start; stuck did not")
        clock.advance(by: .seconds(1))
        try await monitor.evaluateOnce()
        #expect(sink.all.map(\.alert.key).sorted() == ["throughput-stalled/busy", "throughput-stalled/stuck"])
    }

    @Test("the alert configuration file: {} gives the documented defaults; typos and bad values are clear errors")
    func configuration() throws {
        let defaults = try AlertConfiguration.decode(json: Data("{}".utf8))
        #expect(defaults == AlertConfiguration())
        #expect(defaults.rules.map(\.name) == ["dead-letter", "dead-letter-growth", "failure-ratio", "queue-latency", "throughput-stalled"])
        #expect(defaults.intervalSeconds == 30 && defaults.cooldownSeconds == 900 && defaults.worseningFactor == 2 && defaults.sinks == [.log])
        let file = """
            {"environment": "production", "rules": [{"kind": "failure_ratio", "threshold": 0.2, "jobTypes": ["mail.send"]}],
             "sinks": [{"kind": "webhook", "url": "http://127.0.0.1:9/hook", "retries": 2}],
             "escalation": {"afterSeconds": 600, "sinks": [{"kind": "command", "command": ["/bin/true"]}]}}
            """
        let parsed = try AlertConfiguration.decode(json: Data(file.utf8))
        #expect(parsed.rules == [AlertRule(.failureRatio, threshold: 0.2, jobTypes: ["mail.send"])])
        #expect(parsed.sinks.first?.retries == 2 && parsed.escalation?.afterSeconds == 600)
        let twoHooks = try AlertConfiguration.decode(json: Data(#"{"sinks": [{"kind": "webhook", "url": "http://a.example/h"}, {"kind": "webhook", "url": "http://b.example/h"}]}"#.utf8))
        #expect(twoHooks.sinks.map(\.name) == ["webhook", "webhook-2"], "sinks get distinct names")

        func message(_ json: String) -> String {
            do { _ = try AlertConfiguration.decode(json: Data(json.utf8)); return "accepted" } catch { return "\(error)" }
        }
        #expect(message(#"{"rules": [{"kind": "dead_letter", "treshold": 2}]}"#).contains("unknown field 'treshold'"))
        #expect(message(#"{"rules": [{"kind": "dead_letters"}]}"#).contains("unknown alert rule kind 'dead_letters'"))
        #expect(message(#"{"rules": [{"kind": "failure_ratio", "threshold": 40}]}"#).contains("between 0 and 1"))
        #expect(message(#"{"sinks": [{"kind": "webhook"}]}"#).contains("needs \"url\""))
        #expect(message(#"{"rules": [{"kind": "dead_letter"}, {"kind": "dead_letter"}]}"#).contains("two rules are named 'dead-letter'"))
        #expect(message(#"{"intervalSeconds": "soon"}"#).contains("intervalSeconds"))
        #expect(message("not json").contains("not valid"))
    }
}
