import Foundation
import Surety
import SuretyAlerts
import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

/// Records notices.
final class PostgresNoticeLog: AlertSink {
    let name = "notices"
    private let notices = Mutex<[AlertNotice]>([])
    func deliver(_ notice: AlertNotice) async throws { notices.withLock { $0.append(notice) } }
    var events: [AlertNotice.Event] { notices.withLock { $0.map(\.event) } }
}

@Suite("Alerts shared across PostgreSQL nodes", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresAlertTests {
    @Test("two monitors on two clients of one schema send one alert, and a restarted one remembers it")
    func sharedAcrossNodes() async throws {
        try await TestServer.withFreshStore { store in
            try await TestServer.withSecondStore(of: store) { other in
                let clock = TestClock()
                let now = clock.now()
                _ = try await store.enqueue([NewJob(type: "mail.send", queue: "email", priority: 0, tenant: .system, payload: "{}", runAt: now, enqueuedAt: now, maxAttempts: 1)])
                let claimed = try await store.claim(ClaimRequest(queues: ["email"], limit: 1, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
                _ = try await store.finish([AttemptFinish(
                    lease: claimed[0].lease, attempt: 1, worker: "w", startedAt: now, endedAt: now, outcome: .failed,
                    error: AttemptError(type: "Boom", message: "boom", errorClass: .permanent), next: .dead(.permanentError)
                )])
                let configuration = AlertConfiguration(environment: "test", rules: [AlertRule(.deadLetter)])
                let logs = [PostgresNoticeLog(), PostgresNoticeLog()]
                let monitors = try [store, other].enumerated().map { index, node in
                    try AlertMonitor(store: node, configuration: configuration, sinks: [logs[index]], registry: JobRegistry(), clock: clock)
                }
                for _ in 0..<3 {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for monitor in monitors { group.addTask { try await monitor.evaluateOnce() } }
                        try await group.waitForAll()
                    }
                    clock.advance(by: .seconds(30))
                }
                #expect(logs.flatMap(\.events) == [.firing], "one notice between two nodes")
                // The first node goes away: the other node leads the alerts task from now on.
                await store.resignLeadership(of: AlertMonitor.maintenanceTask)
                let restarted = PostgresNoticeLog()
                try await AlertMonitor(store: other, configuration: configuration, sinks: [restarted], registry: JobRegistry(), clock: clock).evaluateOnce()
                #expect(restarted.events.isEmpty)
                _ = try await store.discard([claimed[0].id], action: try OperatorAction(actor: "ops", reason: "test", at: clock.now()))
                try await monitors[1].evaluateOnce()
                #expect(logs[1].events.last == .resolved)
            }
        }
    }
}
