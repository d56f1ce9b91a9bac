import Foundation
import Surety
import SuretyAlerts
import SuretySQLite
import SuretyTesting
import Synchronization
import Testing

/// Records notices.
final class NoticeLog: AlertSink {
    let name = "notices"
    private let notices = Mutex<[AlertNotice]>([])
    func deliver(_ notice: AlertNotice) async throws { notices.withLock { $0.append(notice) } }
    var events: [AlertNotice.Event] { notices.withLock { $0.map(\.event) } }
}

@Suite("Alerts on a real SQLite file")
struct SQLiteAlertTests {
    static func deadJob(_ store: SQLiteStore, at now: Date) async throws {
        _ = try await store.enqueue([NewJob(type: "mail.send", queue: "email", priority: 0, tenant: .system, payload: "{}", runAt: now, enqueuedAt: now, maxAttempts: 1)])
        let claimed = try await store.claim(ClaimRequest(queues: ["email"], limit: 1, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
        _ = try await store.finish([AttemptFinish(
            lease: claimed[0].lease, attempt: 1, worker: "w", startedAt: now, endedAt: now, outcome: .failed,
            error: AttemptError(type: "Boom", message: "boom", errorClass: .permanent), next: .dead(.permanentError)
        )])
    }

    @Test("alert state survives reopening the file, and two monitors on it send one alert")
    func survivesReopenAndSharedByTwo() async throws {
        let temp = try await TempStore()
        let clock = TestClock()
        try await Self.deadJob(temp.store, at: clock.now())
        let configuration = AlertConfiguration(environment: "test", rules: [AlertRule(.deadLetter)])
        let logs = [NoticeLog(), NoticeLog()]
        let second = try temp.reopen()
        let monitors = try [temp.store, second].enumerated().map { index, store in
            try AlertMonitor(store: store, configuration: configuration, sinks: [logs[index]], registry: JobRegistry(), clock: clock)
        }
        for _ in 0..<3 {
            await withThrowingTaskGroup(of: Void.self) { group in
                for monitor in monitors { group.addTask { try await monitor.evaluateOnce() } }
            }
            clock.advance(by: .seconds(30))
        }
        #expect(logs.flatMap(\.events) == [.firing], "one notice between two monitors on one file")

        let reopened = try temp.reopen()
        let later = NoticeLog()
        try await AlertMonitor(store: reopened, configuration: configuration, sinks: [later], registry: JobRegistry(), clock: clock).evaluateOnce()
        #expect(later.events.isEmpty, "a monitor on the reopened file knows the alert already fired")
        let states = try await reopened.alertStates()
        #expect(states.map(\.key) == ["dead-letter/mail.send"] && states.first?.status == "firing")
    }
}
