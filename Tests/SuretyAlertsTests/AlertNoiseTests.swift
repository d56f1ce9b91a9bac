import Foundation
import Logging
import Surety
import SuretyAlerts
import SuretyTesting
import Testing

@Suite("Alert noise control, state and sinks")
struct AlertNoiseTests {
    let store = MemoryStore()
    let clock = TestClock()
    var fixture: AlertFixture { AlertFixture(store: store, clock: clock) }

    @Test("grouping: many failures of one type in one window make one alert, not one per job")
    func grouping() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        try await fixture.run(.die, count: 12)
        try await fixture.run(.die, type: "report.build", queue: "reports", count: 3)
        try await monitor.evaluateOnce()
        #expect(sink.all.map(\.alert.key).sorted() == ["dead-letter/mail.send", "dead-letter/report.build"])
        for _ in 0..<5 {
            clock.advance(by: .seconds(30))
            try await fixture.run(.die)
            try await monitor.evaluateOnce()
        }
        #expect(sink.all.count == 2, "more failures of the same kind within the cooldown do not re-alert: \(sink.all.map(\.headline))")
    }

    @Test("cooldown: no re-alert unless worse — x2 within the cooldown, any growth after it, never for the same value")
    func cooldown() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        try await fixture.run(.die, count: 2)
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing])
        clock.advance(by: .seconds(1000))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing], "the same value after the cooldown is not news")
        try await fixture.run(.die)
        clock.advance(by: .seconds(10))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .worsened], "growth after the cooldown re-alerts")
        #expect(sink.all.last?.alert.value == 3)
        try await fixture.run(.die, count: 2)
        clock.advance(by: .seconds(10))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .worsened], "5 is less than twice 3: quiet within the cooldown")
        try await fixture.run(.die)
        clock.advance(by: .seconds(10))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .worsened, .worsened], "6 is twice 3: re-alert within the cooldown")
    }

    @Test("a resolved notice follows when the condition clears, and a new incident fires again")
    func resolved() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        let ids = try await fixture.run(.die, count: 2)
        try await monitor.evaluateOnce()
        clock.advance(by: .seconds(600))
        let action = try OperatorAction(actor: "ops", reason: "rotated the key", at: clock.now())
        _ = try await store.requeue(ids, action: action)
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .resolved])
        let resolved = try #require(sink.all.last?.alert)
        #expect(resolved.resolvedAt == clock.now() && resolved.summary.hasPrefix("cleared after 10 min"))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .resolved], "a resolved alert stays quiet")
        let listed = try await store.alertStates()
        #expect(listed.map(\.status) == ["resolved"])
        clock.advance(by: .seconds(30))
        try await fixture.run(.die)
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .resolved, .firing])
    }

    @Test("escalation: still firing after the delay, one notice goes to the second sink; its resolution too")
    func escalation() async throws {
        let sink = RecordingSink("primary")
        let backup = RecordingSink("backup")
        let configuration = AlertConfiguration.only([AlertRule(.deadLetter)], escalation: .init(afterSeconds: 600, sinks: [.log]))
        let monitor = try makeMonitor(store, clock, configuration, sink: sink, escalation: backup)
        let ids = try await fixture.run(.die)
        try await monitor.evaluateOnce()
        clock.advance(by: .seconds(599))
        try await monitor.evaluateOnce()
        #expect(backup.all.isEmpty, "not before the delay")
        clock.advance(by: .seconds(1))
        try await monitor.evaluateOnce()
        #expect(backup.events() == [.escalated])
        clock.advance(by: .seconds(600))
        try await monitor.evaluateOnce()
        #expect(backup.events() == [.escalated], "escalation happens once per incident")
        _ = try await store.discard(ids, action: try OperatorAction(actor: "ops", reason: "customer gone", at: clock.now()))
        try await monitor.evaluateOnce()
        #expect(sink.events() == [.firing, .resolved])
        #expect(backup.events() == [.escalated, .resolved])
    }

    @Test("alert state survives a restart: a new monitor on the same store does not re-announce")
    func survivesRestart() async throws {
        let first = RecordingSink()
        try await fixture.run(.die, count: 2)
        try await makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: first).evaluateOnce()
        #expect(first.events() == [.firing])
        let second = RecordingSink()
        let restarted = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: second)
        clock.advance(by: .seconds(30))
        try await restarted.evaluateOnce()
        #expect(second.all.isEmpty, "the restarted monitor remembers the alert is already firing")
        try await fixture.run(.die, count: 2)
        try await restarted.evaluateOnce()
        #expect(second.events() == [.worsened], "and compares with what was last said (2 → 4)")
    }

    @Test("two monitors on one store send one alert, even when both evaluate from the same stale state")
    func twoMonitors() async throws {
        try await fixture.run(.die, count: 3)
        // Both monitors' first loads of the alert state wait for each other: both see "nothing
        // firing" and both want to announce; compare-and-set lets one of them.
        let racing = RacingAlertStore(store, parties: 2)
        let sinks = (0..<2).map { RecordingSink("node\($0)") }
        let monitors = try sinks.map {
            try AlertMonitor(store: racing, configuration: .only([AlertRule(.deadLetter)]), sinks: [$0], registry: alertRegistry, clock: clock)
        }
        for _ in 0..<5 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for monitor in monitors { group.addTask { try await monitor.evaluateOnce() } }
                try await group.waitForAll()
            }
            clock.advance(by: .seconds(30))
        }
        #expect(sinks.flatMap { $0.events() } == [.firing], "exactly one notice between the two nodes")
    }

    @Test("a notice a sink refused is sent again to that sink only at the next evaluation, and given up after five tries")
    func redelivery() async throws {
        let healthy = RecordingSink("healthy")
        let flaky = FailingSink("flaky", failures: 2)
        let monitor = try AlertMonitor(store: store, configuration: .only([AlertRule(.deadLetter)]), sinks: [healthy, flaky],
                                       registry: alertRegistry, clock: clock)
        try await fixture.run(.die)
        let first = try await monitor.evaluateOnce()
        #expect(first.failures == ["flaky: dead-letter/mail.send firing"])
        let stored = try AlertState.decode(try #require(try await store.alertStates().first).body, key: "dead-letter/mail.send")
        #expect(stored.undelivered.map(\.sinks) == [["flaky"]], "the refused notice is kept in the alert's state")
        clock.advance(by: .seconds(30))
        let second = try await monitor.evaluateOnce()
        #expect(second.failures.count == 1 && flaky.events.isEmpty)
        clock.advance(by: .seconds(30))
        let third = try await monitor.evaluateOnce()
        #expect(third.failures.isEmpty && flaky.events == [.firing], "delivered on the third try")
        #expect(healthy.events() == [.firing], "the sink that took it the first time gets it once")
        clock.advance(by: .seconds(30))
        try await monitor.evaluateOnce()
        #expect(flaky.events == [.firing] && healthy.events() == [.firing], "nothing is sent twice")

        let down = FailingSink("down", failures: 100)
        let other = MemoryStore()
        try await AlertFixture(store: other, clock: clock).run(.die)
        let stubborn = try AlertMonitor(store: other, configuration: .only([AlertRule(.deadLetter)]), sinks: [down], registry: alertRegistry, clock: clock)
        var failed = 0
        for _ in 0..<8 {
            failed += try await stubborn.evaluateOnce().failures.count
            clock.advance(by: .seconds(30))
        }
        #expect(failed == AlertState.maximumDeliveryAttempts, "tried five times, then given up")
    }

    @Test("the monitor Service evaluates every interval on the injected clock")
    func service() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await monitor.run() }
            await clock.waitForSleepers(1)
            #expect(sink.all.isEmpty)
            try await fixture.run(.die)
            clock.advance(by: .seconds(30))
            try await eventually("the firing notice") { !sink.all.isEmpty }
            #expect(sink.events() == [.firing])
            group.cancelAll()
        }
    }

    @Test("SuretyService runs an AlertMonitor given in `additional`: the core runs it without knowing the alerts module")
    func insideSuretyService() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        try await fixture.run(.die)
        let service = try SuretyService(
            store: store, registry: alertRegistry,
            configuration: .init(worker: WorkerConfiguration(queues: ["unwatched"]), retention: nil, queueDepthInterval: nil),
            additional: [monitor], clock: clock
        )
        #expect(service.services.contains { $0 is AlertMonitor })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await eventually("the firing notice") { !sink.all.isEmpty }
            #expect(sink.events() == [.firing])
            group.cancelAll()
        }
    }

    @Test("the log sink writes one line per notice with the alert's fields and no secret")
    func logSink() async throws {
        let capture = LogCapture()
        let logSink = LogAlertSink(logger: capture.logger())
        let sink = RecordingSink()
        let monitor = try AlertMonitor(store: store, configuration: .only([AlertRule(.deadLetter)]), sinks: [sink, logSink],
                                       registry: alertRegistry, clock: clock, logger: capture.logger())
        try await fixture.run(.die)
        try await monitor.evaluateOnce()
        let lines = capture.entries.filter { $0.metadata["alert"] != nil }
        #expect(lines.count == 1 && lines[0].level == .warning)
        #expect(lines[0].message.hasPrefix("[FIRING test] mail.send: 1 job in the dead-letter inbox"))
        #expect(lines[0].metadata["job_type"] == "mail.send" && lines[0].metadata["what_to_do"] != nil)
        #expect(!capture.entries.map(\.line).joined().contains(plantedSecret))
    }

    @Test("a job type this process does not know has its error message masked whole")
    func unknownTypeMasked() async throws {
        let sink = RecordingSink()
        let monitor = try makeMonitor(store, clock, .only([AlertRule(.deadLetter)]), sink: sink)
        try await fixture.run(.die, type: "other.type", queue: "other")
        try await monitor.evaluateOnce()
        #expect(sink.all.first?.alert.lastError?.message == "[REDACTED: unknown job type]")
    }

    @Test("a planted secret never appears in notices, their JSON, the stored state or the shell sink's input")
    func plantedSecretNeverLeaks() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("surety-alert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let shell = CommandAlertSink(command: ["/bin/sh", "-c", "cat >> '\(out)'; env | grep SURETY_ALERT_ >> '\(out)'"])
        let sink = RecordingSink()
        let monitor = try AlertMonitor(store: store, configuration: .only(AlertRule.defaults.map { rule in
            var rule = rule
            rule.minimumSample = 1
            return rule
        }), sinks: [sink, shell], registry: alertRegistry, clock: clock)
        try await fixture.run(.fail, count: 3)
        try await fixture.run(.die, count: 12)
        try await fixture.wait(queue: "stuck", count: 2)
        clock.advance(by: .seconds(400))
        try await monitor.evaluateOnce()
        #expect(Set(sink.all.map(\.alert.kind)) == Set(AlertRule.Kind.allCases), "every rule fired: \(sink.all.map(\.alert.key))")
        let outputs = sink.all.map { String(decoding: $0.json(), as: UTF8.self) }
            + (try await store.alertStates()).map(\.body)
            + [try String(contentsOfFile: out, encoding: .utf8)]
        for output in outputs { #expect(!output.contains(plantedSecret)) }
        #expect(outputs.joined().contains("[REDACTED]"), "the secret was there to be redacted")
    }
}
