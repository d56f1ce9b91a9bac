import Foundation
import Logging
import Surety
import SuretyAlerts
import SuretyTesting
import Synchronization

/// A planted secret: it must never appear in any alert output.
let plantedSecret = "sk_live_PLANTED_0xC0FFEE"

struct MailJob: Job {
    static let name = "mail.send"
    static let secretFields: Set<String> = ["apiKey"]
    var to: String
    var apiKey: String
    func run(_ context: JobContext) async throws {}
}

let alertRegistry = JobRegistry([MailJob.self])

/// Records every notice it is given.
final class RecordingSink: AlertSink {
    let name: String
    private let notices = Mutex<[AlertNotice]>([])
    init(_ name: String = "recording") { self.name = name }
    func deliver(_ notice: AlertNotice) async throws { notices.withLock { $0.append(notice) } }
    var all: [AlertNotice] { notices.withLock { $0 } }
    func events(_ key: String? = nil) -> [AlertNotice.Event] { all.filter { key == nil || $0.alert.key == key }.map(\.event) }
}

/// Puts jobs into the states the rules watch, through the store's own transitions.
struct AlertFixture {
    let store: MemoryStore
    let clock: TestClock

    var now: Date { clock.now() }

    func payload(_ n: Int = 0) -> String {
        #"{"apiKey":"\#(plantedSecret)","to":"user\#(n)@example.com"}"#
    }

    /// Enqueues a mail.send job in `queue`, claims it, and ends it per `outcome`.
    @discardableResult
    func run(_ outcome: Outcome, type: String = MailJob.name, queue: String = "email", count: Int = 1) async throws -> [JobID] {
        var ids: [JobID] = []
        for n in 0..<count {
            let id = try await store.enqueue([NewJob(
                type: type, queue: queue, priority: 0, tenant: .system, payload: payload(n), runAt: now,
                enqueuedAt: now, maxAttempts: 5
            )])[0].id
            let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 1000, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
            guard let job = claimed.first(where: { $0.id == id }) else { throw FixtureError(what: "job \(id) was not claimable") }
            // Anything else claimed goes back untouched (released without an attempt).
            let others = claimed.filter { $0.id != id }.map {
                AttemptFinish(lease: $0.lease, attempt: $0.attempt, worker: "w", startedAt: now, endedAt: now, outcome: .interrupted, next: .reschedule(at: now))
            }
            if !others.isEmpty { _ = try await store.finish(others) }
            let error = AttemptError(type: "ProviderError", message: "401 unauthorized: key \(plantedSecret) was rotated", errorClass: .permanent)
            let next: NextState
            let attemptOutcome: AttemptOutcome
            switch outcome {
            case .succeed: (next, attemptOutcome) = (.completed, .succeeded)
            case .fail: (next, attemptOutcome) = (.retry(at: now.addingTimeInterval(3600)), .failed)
            case .die: (next, attemptOutcome) = (.dead(.permanentError), .failed)
            }
            _ = try await store.finish([AttemptFinish(
                lease: job.lease, attempt: job.attempt, worker: "w", startedAt: now, endedAt: now, outcome: attemptOutcome,
                error: outcome == .succeed ? nil : error, next: next
            )])
            ids.append(id)
        }
        return ids
    }

    /// Enqueues jobs that wait in `queue` (due now).
    func wait(queue: String, count: Int = 1, type: String = MailJob.name) async throws {
        _ = try await store.enqueue((0..<count).map { n in
            NewJob(type: type, queue: queue, priority: 0, tenant: .system, payload: payload(n), runAt: now, enqueuedAt: now, maxAttempts: 5)
        })
    }

    enum Outcome { case succeed, fail, die }
}

struct FixtureError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}

extension AlertConfiguration {
    /// Only the given rules, cooldown 15 min, no escalation unless given.
    static func only(_ rules: [AlertRule], escalation: Escalation? = nil) -> AlertConfiguration {
        AlertConfiguration(environment: "test", intervalSeconds: 30, cooldownSeconds: 900, worseningFactor: 2, rules: rules,
                           sinks: [.log], escalation: escalation)
    }
}

func makeMonitor(
    _ store: MemoryStore, _ clock: TestClock, _ configuration: AlertConfiguration, sink: RecordingSink,
    escalation: RecordingSink? = nil, logger: Logger = Logger(label: "test.alerts")
) throws -> AlertMonitor {
    try AlertMonitor(store: store, configuration: configuration, sinks: [sink], escalationSinks: escalation.map { [$0] } ?? [],
                     registry: alertRegistry, clock: clock, logger: logger)
}

/// Releases its waiters once `parties` tasks arrived.
final class Barrier: Sendable {
    private let state: Mutex<(arrived: Int, waiters: [CheckedContinuation<Void, Never>])> = Mutex((0, []))
    let parties: Int
    init(parties: Int) { self.parties = parties }

    func arrive() async {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                state.arrived += 1
                state.waiters.append(continuation)
                guard state.arrived >= parties else { return nil }
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in release ?? [] { waiter.resume() }
        }
    }
}

/// A memory store whose first `parties` loads of alert state wait for each other, so monitors
/// that share it all evaluate from the same stale view and only compare-and-set decides.
final class RacingAlertStore: JobStore, AlertObservationsStore, AlertStateStore {
    let base: MemoryStore
    let barrier: Barrier
    private let loads = Mutex(0)

    init(_ base: MemoryStore, parties: Int) {
        self.base = base
        self.barrier = Barrier(parties: parties)
    }

    // The runtime contract, from the memory store (the monitor needs only the alert capabilities).
    func migrate() async throws { try await base.migrate() }
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] { try await base.enqueue(jobs) }
    func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] { try await base.claim(request) }
    func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] { try await base.heartbeat(leases, until: until) }
    func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] { try await base.finish(finishes) }
    func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] { try await base.expiredLeases(now: now, limit: limit) }

    func alertStates() async throws -> [AlertStateRecord] {
        let states = try await base.alertStates()
        if loads.withLock({ $0 += 1; return $0 }) <= barrier.parties { await barrier.arrive() }
        return states
    }

    func saveAlertState(_ record: AlertStateRecord, expectedVersion: Int?) async throws -> Bool { try await base.saveAlertState(record, expectedVersion: expectedVersion) }
    func deleteAlertStates(_ keys: [String], updatedBefore before: Date) async throws -> Int { try await base.deleteAlertStates(keys, updatedBefore: before) }
    func attemptActivity(since: Date, until: Date) async throws -> [AttemptActivity] { try await base.attemptActivity(since: since, until: until) }
    func deadLetterSummary(since: Date) async throws -> [DeadLetterSummary] { try await base.deadLetterSummary(since: since) }
    func waitingWork(now: Date) async throws -> [WaitingWork] { try await base.waitingWork(now: now) }
}

/// Refuses its first `failures` notices, then records like ``RecordingSink``.
final class FailingSink: AlertSink {
    let name: String
    private let state: Mutex<(left: Int, taken: [AlertNotice])>
    init(_ name: String, failures: Int) {
        self.name = name
        state = Mutex((failures, []))
    }
    func deliver(_ notice: AlertNotice) async throws {
        try state.withLock { state in
            if state.left > 0 {
                state.left -= 1
                throw FixtureError(what: "sink \(name) is down")
            }
            state.taken.append(notice)
        }
    }
    var events: [AlertNotice.Event] { state.withLock { $0.taken.map(\.event) } }
}
