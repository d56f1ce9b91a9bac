import Foundation
import Surety
import SuretyTesting
import Synchronization
import Testing

// The jobs of docs/testing.md: every example there is code in this file.

/// The email provider refused the request before sending: the effect surely did not happen.
struct OutboxUnavailable: EffectNotPerformedError {}

/// A fake email provider: records what it sent, refuses the first `failures` sends.
final class Outbox: Sendable {
    private let state: Mutex<(failures: Int, sent: [String])>
    init(failures: Int = 0) { state = Mutex((failures, [])) }
    var sent: [String] { state.withLock { $0.sent } }

    func send(to userID: String, idempotencyKey: String) throws -> String {
        try state.withLock { state in
            if state.failures > 0 {
                state.failures -= 1
                throw OutboxUnavailable()
            }
            state.sent.append(userID)
            return "msg-\(state.sent.count)"
        }
    }
}

struct SendWelcome: Job {
    static let name = "app.send-welcome"
    static let options = JobOptions(queue: "email", maxAttempts: 3, backoff: .exponential(initial: .seconds(10), factor: 2, cap: .seconds(100), jitter: 0.2))
    var userID: String

    func run(_ context: JobContext) async throws {
        let outbox = try context.dependency(Outbox.self)
        let messageID = try await context.effect("send", key: userID) { idempotencyKey in
            try outbox.send(to: userID, idempotencyKey: idempotencyKey)
        }
        try await context.enqueue(TrackEvent(userID: userID, event: "welcome-sent", messageID: messageID))
    }
}

struct TrackEvent: Job {
    static let name = "app.track-event"
    static let options = JobOptions(queue: "analytics")
    var userID: String
    var event: String
    var messageID: String
    func run(_ context: JobContext) async throws {}
}

/// The application code under test: signs a user up and enqueues the welcome email for a minute later.
func signUp(_ userID: String, queue: JobQueue, tenant: TenantID) async throws {
    try await queue.enqueue(SendWelcome(userID: userID), tenant: tenant, options: EnqueueOptions(delay: .seconds(60)))
}

/// A reminder whose time keeps a fraction of a second the payload's dates do not.
struct RemindAt: Job {
    static let name = "app.remind-at"
    var userID: String
    var at: Date
    func run(_ context: JobContext) async throws {}
}

/// A field left out of `CodingKeys` (it decodes to its default), and a secret one.
struct ExportReport: Job {
    static let name = "app.export-report"
    static let secretFields: Set<String> = ["token"]
    var format: String
    var rows: [String] = []
    var token: String = ""
    enum CodingKeys: String, CodingKey { case format }
    func run(_ context: JobContext) async throws {}
}

/// What a job saw of its context, for the tests of the context's fields.
final class ContextLog: Sendable {
    struct Seen: Sendable, Equatable {
        var tenant: TenantID
        var current: TenantID?
        var attempt: Int
        var now: Date
        var queue: String
    }
    private let seen = Mutex<[Seen]>([])
    var all: [Seen] { seen.withLock { $0 } }
    func add(_ value: Seen) { seen.withLock { $0.append(value) } }
}

struct ContextProbe: Job {
    static let name = "test.context-probe"
    static let options = JobOptions(queue: "probe", maxAttempts: 5)
    var note: String
    func run(_ context: JobContext) async throws {
        try context.dependency(ContextLog.self).add(.init(
            tenant: context.tenant, current: Tenant.current, attempt: context.attempt, now: context.clock.now(), queue: context.queue
        ))
    }
}

/// Snoozes for ever: a drain must stop.
struct ForeverSnoozer: Job {
    static let name = "test.forever-snoozer"
    func run(_ context: JobContext) async throws { throw Snooze(for: .seconds(30)) }
}

/// A job with a priority, to check the drain's order.
struct Ranked: Job {
    static let name = "test.ranked"
    var label: String
    func run(_ context: JobContext) async throws {
        try context.dependency(ContextLog.self).add(.init(tenant: context.tenant, current: nil, attempt: context.attempt, now: context.clock.now(), queue: label))
    }
}

@Suite("JobTesting: perform, enqueued and drain for application tests")
struct JobTestingTests {
    let acme = try! TenantID("acme")

    // MARK: perform

    @Test("perform runs the job with its dependencies and returns its follow-ups and effects (docs: running one job)")
    func performSucceeds() async throws {
        let acme = try TenantID("acme")
        let outbox = Outbox()
        var dependencies = JobDependencies()
        dependencies.register(outbox)
        let testing = JobTesting(dependencies: dependencies)

        let run = try await testing.perform(SendWelcome(userID: "u1"), tenant: acme)

        #expect(run.succeeded && run.next == .completed && run.error == nil)
        #expect(outbox.sent == ["u1"])
        let events = try run.followUps(TrackEvent.self)
        #expect(events.map(\.job.event) == ["welcome-sent"] && events[0].tenant == acme && events[0].queue == "analytics")
        #expect(run.effects.map(\.state) == [.confirmed] && run.effects[0].result == #""msg-1""#)
        #expect(run.record.state == .completed && run.record.queue == "email")
    }

    @Test("a failing attempt is judged as a worker judges it: retry after the backoff, then the inbox (docs: running one job)")
    func performFails() async throws {
        let acme = try TenantID("acme")
        var dependencies = JobDependencies()
        dependencies.register(Outbox(failures: 10))
        let testing = JobTesting(dependencies: dependencies)

        let first = try await testing.perform(SendWelcome(userID: "u1"), tenant: acme)
        #expect(first.error is OutboxUnavailable && first.outcome == .failed)
        #expect(first.next == .retry(at: testing.clock.now().addingTimeInterval(10)))
        #expect(first.recordedError?.type == "OutboxUnavailable" && first.recordedError?.errorClass == .transient)
        #expect(first.effects.isEmpty, "a refusal leaves no started effect behind")

        let last = try await testing.perform(SendWelcome(userID: "u2"), tenant: acme, attempt: 3)
        #expect(last.next == .dead(.maxAttempts) && last.record.state == .dead)
    }

    @Test("perform gives the context its tenant (also Tenant.current), attempt, clock, queue and dependencies")
    func performContext() async throws {
        let log = ContextLog()
        var dependencies = JobDependencies()
        dependencies.register(log)
        let clock = TestClock(now: Date(timeIntervalSince1970: 1_900_000_000))
        let testing = JobTesting(clock: clock, dependencies: dependencies)
        _ = try await testing.perform(ContextProbe(note: "a"), tenant: acme)
        _ = try await testing.perform(ContextProbe(note: "b"), tenant: acme, attempt: 3)
        let defaulted = try await testing.perform(ContextProbe(note: "c"))
        #expect(log.all == [
            .init(tenant: acme, current: acme, attempt: 1, now: clock.now(), queue: "probe"),
            .init(tenant: acme, current: acme, attempt: 3, now: clock.now(), queue: "probe"),
            .init(tenant: JobTesting.defaultTenant, current: JobTesting.defaultTenant, attempt: 1, now: clock.now(), queue: "probe"),
        ])
        #expect(defaulted.tenant.rawValue == "test-tenant")
        // The attempts before the third are recorded as transient failures, so the counters agree.
        let third = try #require(try await testing.store.jobs(JobFilter(types: [ContextProbe.name])).first { $0.attempt == 3 })
        let history = try await testing.store.attempts(of: third.id)
        #expect(history.map(\.outcome) == [.failed, .failed, .succeeded])
        #expect(history.prefix(2).allSatisfy { $0.error?.type == "SimulatedAttempt" })
    }

    @Test("perform runs the job now even when its options delay it, with the options applied")
    func performIgnoresDelay() async throws {
        let log = ContextLog()
        var dependencies = JobDependencies()
        dependencies.register(log)
        let testing = JobTesting(dependencies: dependencies)
        let run = try await testing.perform(ContextProbe(note: "later"), tenant: acme, options: EnqueueOptions(delay: .seconds(3600), queue: "other", tags: ["t"]))
        #expect(run.succeeded && log.all.map(\.queue) == ["other"] && run.record.tags == ["t"])
    }

    @Test("a field that does not survive the payload's encoding fails perform, naming the field (docs: round trip)")
    func roundTripFailures() async throws {
        let testing = JobTesting()

        let error = await #expect(throws: JobTestingError.self) {
            try await testing.perform(RemindAt(userID: "u1", at: Date(timeIntervalSince1970: 1_800_000_000.25)))
        }
        guard case let .payloadDoesNotRoundTrip(type, field, _, _)? = error else {
            Issue.record("expected payloadDoesNotRoundTrip, got \(String(describing: error))")
            return
        }
        #expect(type == "app.remind-at" && field == "at")
        // Whole seconds survive.
        #expect(try await testing.perform(RemindAt(userID: "u1", at: Date(timeIntervalSince1970: 1_800_000_000))).succeeded)

        // A field missing from CodingKeys.
        #expect(throws: JobTestingError.payloadDoesNotRoundTrip(type: "app.export-report", field: "rows", before: #"["a"]"#, after: "[]")) {
            try JobTesting.checkRoundTrip(ExportReport(format: "csv", rows: ["a"]))
        }
        // A secret field's values are never shown.
        #expect(throws: JobTestingError.payloadDoesNotRoundTrip(type: "app.export-report", field: "token", before: "[REDACTED]", after: "[REDACTED]")) {
            try JobTesting.checkRoundTrip(ExportReport(format: "csv", token: "tok-SECRET"))
        }
        #expect(try await testing.store.jobs(JobFilter(types: [ExportReport.name])).isEmpty, "nothing is enqueued for a payload that does not round-trip")
        // Opting out runs the job as decoded.
        #expect(try await testing.perform(ExportReport(format: "csv", rows: ["a"]), checkRoundTrip: false).succeeded)
    }

    @Test("the round trip compares nested values, optionals, arrays and dictionaries field by field")
    func roundTripStructure() throws {
        struct Line: Codable, Sendable { var sku: String; var at: Date? }
        struct Order: Job {
            static let name = "test.order"
            var lines: [Line]
            var byWarehouse: [String: Line]
            func run(_ context: JobContext) async throws {}
        }
        let whole = Date(timeIntervalSince1970: 1_800_000_000)
        let fraction = whole.addingTimeInterval(0.5)
        try JobTesting.checkRoundTrip(Order(lines: [Line(sku: "a", at: whole), Line(sku: "b", at: nil)], byWarehouse: ["w1": Line(sku: "c", at: whole)]))
        let inArray = #expect(throws: JobTestingError.self) {
            try JobTesting.checkRoundTrip(Order(lines: [Line(sku: "a", at: whole), Line(sku: "b", at: fraction)], byWarehouse: [:]))
        }
        guard case let .payloadDoesNotRoundTrip(_, field, before, after)? = inArray else { Issue.record("no difference"); return }
        #expect(field == "lines[1].at" && before.hasSuffix(":00.500Z") && after.hasSuffix(":00.000Z"))
        let inDictionary = #expect(throws: JobTestingError.self) {
            try JobTesting.checkRoundTrip(Order(lines: [], byWarehouse: ["w1": Line(sku: "c", at: fraction)]))
        }
        guard case let .payloadDoesNotRoundTrip(_, field, _, _)? = inDictionary else { Issue.record("no difference"); return }
        #expect(field == "byWarehouse[w1].at")
    }

    @Test("perform refuses what would not run this job: another due job in its queue, a held key, an attempt out of range")
    func performRefusals() async throws {
        let testing = JobTesting()
        let other = try await testing.queue.enqueue(ContextProbe(note: "waiting"), tenant: acme).id
        await #expect(throws: JobTestingError.otherJobsDue(queue: "probe", jobs: [other])) {
            try await testing.perform(ContextProbe(note: "x"), tenant: acme)
        }
        let keyed = JobTesting()
        let holder = try await keyed.queue.enqueue(ContextProbe(note: "h"), tenant: acme, options: EnqueueOptions(delay: .seconds(60), uniqueKey: "k")).id
        await #expect(throws: JobTestingError.uniqueKeyHeld(key: "k", holder: holder)) {
            try await keyed.perform(ContextProbe(note: "x"), tenant: acme, options: EnqueueOptions(uniqueKey: "k"))
        }
        await #expect(throws: JobTestingError.invalidAttempt(6, maxAttempts: 5)) {
            try await keyed.perform(ContextProbe(note: "x"), tenant: acme, attempt: 6)
        }
        await #expect(throws: JobTestingError.invalidAttempt(0, maxAttempts: 5)) {
            try await keyed.perform(ContextProbe(note: "x"), tenant: acme, attempt: 0)
        }
    }

    // MARK: enqueued

    @Test("enqueued lists what the code under test enqueued, by type and tenant, decoded (docs: asserting enqueued jobs)")
    func enqueuedJobs() async throws {
        let acme = try TenantID("acme")
        let testing = JobTesting()

        try await signUp("u1", queue: testing.queue, tenant: acme)

        let welcomes = try await testing.enqueued(SendWelcome.self, tenant: acme)
        #expect(welcomes.map(\.job.userID) == ["u1"])
        #expect(welcomes[0].queue == "email" && welcomes[0].state == .scheduled)
        #expect(welcomes[0].runAt == testing.clock.now().addingTimeInterval(60))
    }

    @Test("enqueued filters by type, tenant and state, oldest first, on any store; a payload that no longer decodes throws")
    func enqueuedFilters() async throws {
        let store = MemoryStore()
        let queue = JobQueue(store: store, clock: TestClock())
        let globex = try TenantID("globex")
        for user in ["u1", "u2"] { try await queue.enqueue(SendWelcome(userID: user), tenant: acme) }
        try await queue.enqueue(SendWelcome(userID: "g1"), tenant: globex)
        try await queue.enqueue(TrackEvent(userID: "u1", event: "e", messageID: "m"), tenant: acme)

        #expect(try await JobTesting.enqueued(SendWelcome.self, in: store, tenant: acme).map(\.job.userID) == ["u1", "u2"])
        #expect(try await JobTesting.enqueued(SendWelcome.self, in: store).map(\.job.userID) == ["u1", "u2", "g1"])
        #expect(try await JobTesting.enqueued(TrackEvent.self, in: store, tenant: globex).isEmpty)
        #expect(try await JobTesting.enqueued(SendWelcome.self, in: store, states: [.completed]).isEmpty)

        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await store.enqueue([NewJob(type: SendWelcome.name, queue: "email", priority: 0, tenant: acme, payload: #"{"user":1}"#, runAt: now, enqueuedAt: now, maxAttempts: 3)])
        await #expect(throws: JobTestingError.payloadDoesNotDecode(type: SendWelcome.name, detail: "missing key 'userID' at the top level")) {
            try await JobTesting.enqueued(SendWelcome.self, in: store, tenant: acme)
        }
    }

    // MARK: drain

    @Test("drain runs jobs and their follow-ups to the end, moving the clock past the backoff (docs: draining)")
    func drainToTheEnd() async throws {
        let acme = try TenantID("acme")
        let outbox = Outbox(failures: 1)
        var dependencies = JobDependencies()
        dependencies.register(outbox)
        let testing = JobTesting(types: [SendWelcome.self, TrackEvent.self], dependencies: dependencies)
        let start = testing.clock.now()
        try await testing.queue.enqueue(SendWelcome(userID: "u1"), tenant: acme)

        let result = try await testing.drain()

        #expect(result.runs.map(\.type) == ["app.send-welcome", "app.send-welcome", "app.track-event"])
        #expect(result.runs.map(\.outcome) == [.failed, .succeeded, .succeeded])
        #expect(result.runs[1].attempt == 2 && result.completed.count == 2 && result.waiting.isEmpty)
        #expect(testing.clock.now() > start.addingTimeInterval(10) && testing.clock.now() < start.addingTimeInterval(10.001))
        #expect(outbox.sent == ["u1"])
    }

    @Test("drain without advancing the clock runs only what is due, and reports what waits")
    func drainDueOnly() async throws {
        var dependencies = JobDependencies()
        dependencies.register(Outbox(failures: 1))
        let testing = JobTesting(types: [SendWelcome.self, TrackEvent.self], dependencies: dependencies)
        let start = testing.clock.now()
        let id = try await testing.queue.enqueue(SendWelcome(userID: "u1"), tenant: acme).id
        try await testing.queue.enqueue(SendWelcome(userID: "u2"), tenant: acme, options: EnqueueOptions(delay: .seconds(5)))

        let result = try await testing.drain(advancingClock: false)
        #expect(result.runs.map(\.outcome) == [.failed])
        #expect(result.waiting.map(\.state) == [.retrying, .scheduled] && result.waiting[0].id == id)
        #expect(testing.clock.now() == start)

        let rest = try await testing.drain()
        #expect(rest.count(.succeeded) == 4 && rest.waiting.isEmpty, "u2 at 5 s, u1's retry at 10 s, and their two events")
    }

    @Test("drain of some queues leaves the others' jobs waiting")
    func drainQueues() async throws {
        var dependencies = JobDependencies()
        dependencies.register(Outbox())
        let testing = JobTesting(types: [SendWelcome.self, TrackEvent.self], dependencies: dependencies)
        try await testing.queue.enqueue(SendWelcome(userID: "u1"), tenant: acme)
        let result = try await testing.drain(queues: ["email"])
        #expect(result.runs.map(\.type) == ["app.send-welcome"] && result.waiting.isEmpty)
        let events = try await testing.enqueued(TrackEvent.self)
        #expect(events.map(\.job.userID) == ["u1"], "the follow-up waits in its own queue")
        #expect(try await testing.drain().runs.map(\.type) == ["app.track-event"])
    }

    @Test("drain runs one job at a time, most urgent first: priority, then run time, then id")
    func drainOrder() async throws {
        let log = ContextLog()
        var dependencies = JobDependencies()
        dependencies.register(log)
        let testing = JobTesting(types: [Ranked.self], dependencies: dependencies)
        try await testing.queue.enqueue(Ranked(label: "p5"), tenant: acme, options: EnqueueOptions(priority: 5))
        try await testing.queue.enqueue(Ranked(label: "later"), tenant: acme, options: EnqueueOptions(delay: .seconds(1)))
        try await testing.queue.enqueue(Ranked(label: "first"), tenant: acme)
        try await testing.queue.enqueue(Ranked(label: "second"), tenant: acme)
        _ = try await testing.drain()
        #expect(log.all.map(\.queue) == ["first", "second", "p5", "later"])
    }

    @Test("drain stops with a clear error at an unregistered type (the job put back) and at its run limit")
    func drainRefusals() async throws {
        let testing = JobTesting(types: [ForeverSnoozer.self])
        let stranger = try await testing.queue.enqueue(TrackEvent(userID: "u", event: "e", messageID: "m"), tenant: acme).id
        await #expect(throws: JobTestingError.unregisteredType("app.track-event")) { try await testing.drain() }
        let back = try #require(try await testing.store.job(stranger))
        #expect(JobState.claimable.contains(back.state) && back.attempt == 0, "put back without using an attempt")

        let snoozing = JobTesting(types: [ForeverSnoozer.self])
        try await snoozing.queue.enqueue(ForeverSnoozer(), tenant: acme)
        await #expect(throws: JobTestingError.drainLimitReached(maxRuns: 5)) { try await snoozing.drain(maxRuns: 5) }
        let snoozer = try #require(try await snoozing.store.jobs(JobFilter()).first)
        #expect(try await snoozing.store.attempts(of: snoozer.id).filter { $0.outcome == .snoozed }.count == 5)
    }

    // MARK: parity with the worker

    @Test("an attempt run by JobTesting is recorded as a Worker records it", arguments: ParityCase.allCases)
    func parityWithWorker(_ parity: ParityCase) async throws {
        let viaWorker = try await parity.runInWorker(tenant: acme)
        let viaTesting = try await parity.runInJobTesting(tenant: acme)
        #expect(viaTesting.state == viaWorker.state && viaTesting.attempt == viaWorker.attempt && viaTesting.deadReason == viaWorker.deadReason)
        #expect(viaTesting.lastError == viaWorker.lastError)
        #expect(viaTesting.outcomes == viaWorker.outcomes)
    }
}

/// Jobs of TestJobs.swift run once by a Worker and once by JobTesting.
enum ParityCase: String, CaseIterable, Sendable {
    case succeeds, transient, permanent, snoozes, undecodable

    struct Observed: Equatable {
        var state: JobState
        var attempt: Int
        var deadReason: DeadReason?
        var lastError: AttemptError?
        var outcomes: [AttemptOutcome?]
    }

    func enqueue(_ store: any JobInspectionStore, queue: JobQueue, tenant: TenantID, now: Date) async throws -> JobID {
        switch self {
        case .succeeds: return try await queue.enqueue(SucceedingJob(note: "n"), tenant: tenant).id
        case .transient: return try await queue.enqueue(FlakyJob(failures: 1, apiKey: "k-SECRET-1"), tenant: tenant).id
        case .permanent: return try await queue.enqueue(DecliningJob(), tenant: tenant).id
        case .snoozes: return try await queue.enqueue(SnoozingJob(), tenant: tenant).id
        case .undecodable:
            return try await store.enqueue([NewJob(
                type: FlakyJob.name, queue: "default", priority: 0, tenant: tenant, payload: #"{"failures":"#,
                runAt: now, enqueuedAt: now, maxAttempts: 20
            )])[0].id
        }
    }

    func observe(_ store: any JobInspectionStore, _ id: JobID) async throws -> Observed {
        let record = try #require(try await store.job(id))
        return Observed(
            state: record.state, attempt: record.attempt, deadReason: record.deadReason, lastError: record.lastError,
            outcomes: try await store.attempts(of: id).map(\.outcome)
        )
    }

    func runInWorker(tenant: TenantID) async throws -> Observed {
        let h = Harness()
        let id = try await enqueue(h.store, queue: h.queue, tenant: tenant, now: h.clock.now())
        try await h.running([h.worker()]) { try await h.events.first { $0.finished(id) != nil } }
        return try await observe(h.store, id)
    }

    func runInJobTesting(tenant: TenantID) async throws -> Observed {
        let h = Harness()
        var dependencies = JobDependencies()
        dependencies.register(h.counter)
        let testing = JobTesting(types: [SucceedingJob.self, FlakyJob.self, DecliningJob.self, SnoozingJob.self], dependencies: dependencies)
        let id = try await enqueue(testing.store, queue: testing.queue, tenant: tenant, now: testing.clock.now())
        let result = try await testing.drain(advancingClock: false)
        #expect(result.runs.count == 1)
        return try await observe(testing.store, id)
    }
}
