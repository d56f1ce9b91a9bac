import Foundation
import Logging
import Surety

/// Runs jobs in tests without a worker: inline, one at a time, on a ``TestClock``, with the
/// rules a `Worker` applies (payload decoding, error classification, retries and backoff,
/// snoozes, the dead-letter inbox, effects, follow-ups), and every attempt recorded in a real
/// store. See docs/testing.md.
///
/// ```swift
/// let testing = JobTesting(types: [SendWelcome.self], dependencies: dependencies)
/// let run = try await testing.perform(SendWelcome(userID: "u1"), tenant: acme)
/// #expect(run.succeeded)
/// let receipts = try await testing.enqueued(SendReceipt.self, tenant: acme)
/// let drained = try await testing.drain()
/// ```
///
/// - ``perform(_:tenant:attempt:options:checkRoundTrip:)`` runs one job now, with its payload
///   round-tripped through the real codec, and returns what it did (``JobRun``).
/// - ``enqueued(_:tenant:states:)`` lists what was enqueued, decoded as the job type.
/// - ``drain(queues:advancingClock:maxRuns:)`` runs every due job and the follow-ups they
///   enqueue until nothing is due, moving the clock past backoffs and snoozes.
///
/// Not enforced inline: the type's `JobOptions.timeout` (the clock moves only between
/// attempts, so a job that sleeps on `context.clock` waits until the test advances it),
/// heartbeats and lease rescue. Use a `Worker` with ``EventRecorder`` for those.
public struct JobTesting: Sendable {
    /// The tenant ``perform(_:tenant:attempt:options:checkRoundTrip:)`` uses when none is given:
    /// `test-tenant`.
    public static let defaultTenant = TenantID(unchecked: "test-tenant")

    /// Where jobs are enqueued, claimed and recorded. Default: a new `MemoryStore`.
    public let store: any JobInspectionStore
    /// The time every attempt sees; the drain advances it. Default: a new ``TestClock``.
    public let clock: TestClock
    /// The services jobs fetch with `JobContext.dependency(_:)`. Default: none.
    public let dependencies: JobDependencies
    /// The known job types, for ``queue``'s enqueue by type name.
    public let registry: JobRegistry
    /// Decides whether a thrown error retries, as `WorkerConfiguration.classifier` does.
    /// Default: `ErrorClassifier.standard`.
    public let classifier: ErrorClassifier
    /// The worker id recorded with every attempt. Default: `"surety-testing"`.
    public let workerID: String
    /// The logger jobs' loggers derive from. Default: one that discards everything (pass
    /// `LogCapture.logger(label:)` to check what jobs log).
    public let logger: Logger
    /// The random number for retry jitter, in [0, 1): `0.5` means none, so backoffs are exact.
    /// Default: `0.5`.
    public let jitterRandom: Double
    /// - Parameters:
    ///   - types: the job types ``drain(queues:advancingClock:maxRuns:)`` may run (a due job of
    ///     another type stops the drain). ``perform(_:tenant:attempt:options:checkRoundTrip:)``
    ///     runs any type. Default: none.
    ///   - store: Default: a new `MemoryStore`.
    ///   - clock: Default: a new ``TestClock`` at its fixed instant.
    ///   - dependencies: Default: none.
    ///   - classifier: Default: `ErrorClassifier.standard`.
    ///   - workerID: Default: `"surety-testing"`.
    ///   - logger: Default: a logger that discards everything.
    ///   - jitterRandom: Default: `0.5` (no jitter).
    public init(
        types: [any Job.Type] = [], store: any JobInspectionStore = MemoryStore(), clock: TestClock = TestClock(),
        dependencies: JobDependencies = JobDependencies(), classifier: ErrorClassifier = .standard,
        workerID: String = "surety-testing",
        logger: Logger = Logger(label: "surety.testing", factory: { _ in SwiftLogNoOpLogHandler() }),
        jitterRandom: Double = 0.5
    ) {
        self.registry = JobRegistry(types)
        self.store = store
        self.clock = clock
        self.dependencies = dependencies
        self.classifier = classifier
        self.workerID = workerID
        self.logger = logger
        self.jitterRandom = jitterRandom
    }

    /// A client on ``store`` and ``clock``, to enqueue as the application does.
    public var queue: JobQueue {
        JobQueue(store: store, registry: registry, clock: clock, logger: logger)
    }

    // MARK: Running one job

    /// Runs one attempt of `job` now, as a worker would, and returns what it did.
    ///
    /// The job is built by `JobQueue.newJob(_:tenant:options:)` (the type's options, the per-call
    /// overrides, the same validation as enqueue), checked by ``checkRoundTrip(_:)``, inserted in
    /// ``store`` (due now, whatever its `runAt`), claimed under a lease, decoded from the stored
    /// payload and run with a `JobContext` on ``clock`` with ``dependencies``, in `tenant`
    /// (`Tenant.current`). The attempt's outcome is judged and recorded as a worker records it:
    /// a transient error schedules a retry after the type's backoff, a permanent one (or the last
    /// attempt) sends the job to the dead-letter inbox, a `Snooze` reschedules it.
    ///
    /// The job's own error does not throw: it is in ``JobRun/error``.
    ///
    /// - Parameters:
    ///   - job: the job to run.
    ///   - tenant: Default: ``defaultTenant``.
    ///   - attempt: the attempt to run, 1 for the first. A later one is reached by recording the
    ///     attempts before it as transient failures (history rows of type `SimulatedAttempt`), so
    ///     the job's counters, `JobContext.attempt` and the retry decision agree. Default: `1`.
    ///   - options: per-call enqueue options. Default: none.
    ///   - checkRoundTrip: whether to run ``checkRoundTrip(_:)`` first. Default: `true`.
    /// - Throws: ``JobTestingError`` (round trip, another job due in the queue, a held unique key,
    ///   an attempt outside 1...maxAttempts), or `SuretyError` from enqueue validation or
    ///   the store.
    public func perform<J: Job>(
        _ job: J, tenant: TenantID = JobTesting.defaultTenant, attempt: Int = 1,
        options: EnqueueOptions = EnqueueOptions(), checkRoundTrip: Bool = true
    ) async throws -> JobRun {
        var new = try queue.newJob(job, tenant: tenant, options: options)
        guard (1...new.maxAttempts).contains(attempt) else {
            throw JobTestingError.invalidAttempt(attempt, maxAttempts: new.maxAttempts)
        }
        if checkRoundTrip { try Self.checkRoundTrip(job, payload: new.payload) }
        let now = clock.now()
        new.runAt = min(new.runAt, now)
        // A claim takes the most urgent due job: this one must be the only one in its queue.
        let due = try await Self.all(store, JobFilter(states: JobState.claimable, queues: [new.queue])).filter { $0.runAt <= now }
        guard due.isEmpty else { throw JobTestingError.otherJobsDue(queue: new.queue, jobs: due.map(\.id)) }
        let enqueued = try await store.enqueue([new])[0]
        if enqueued.dropped { throw JobTestingError.dropped(queue: new.queue) }
        guard enqueued.inserted else {
            throw JobTestingError.uniqueKeyHeld(key: new.uniqueKey ?? "", holder: enqueued.id)
        }
        var claimed = try await claim(enqueued.id, queue: new.queue)
        while claimed.attempt < attempt {
            let simulated = AttemptError(
                type: "SimulatedAttempt", message: "attempt \(claimed.attempt) simulated by JobTesting.perform(attempt: \(attempt))",
                errorClass: .transient
            )
            let at = clock.now()
            try await record(AttemptFinish(
                lease: claimed.lease, attempt: claimed.attempt, worker: workerID, startedAt: at, endedAt: at,
                outcome: .failed, error: simulated, next: .retry(at: at)
            ))
            claimed = try await claim(enqueued.id, queue: new.queue)
        }
        return try await run(claimed, JobRegistry.Entry(J.self))
    }

    // MARK: What was enqueued

    /// The jobs of type `J` in ``store``, oldest first, decoded so a test can check their payload.
    /// See ``enqueued(_:in:tenant:states:)``.
    public func enqueued<J: Job>(
        _ type: J.Type, tenant: TenantID? = nil, states: [JobState] = JobState.claimable
    ) async throws -> [StoredJob<J>] {
        try await Self.enqueued(type, in: store, tenant: tenant, states: states)
    }

    /// The jobs of type `J` in `store` (any store: a `MemoryStore`, an SQLite file), oldest
    /// first, each decoded as `J` with its stored row, so a test asserts what was enqueued
    /// without running a worker:
    ///
    /// ```swift
    /// let receipts = try await JobTesting.enqueued(SendReceipt.self, in: store, tenant: acme)
    /// #expect(receipts.map(\.job.orderID) == ["o-1"])
    /// #expect(receipts[0].queue == "email")
    /// ```
    ///
    /// - Parameters:
    ///   - type: the job type to list and decode.
    ///   - store: the store to read.
    ///   - tenant: only this tenant's jobs. Default: `nil`, every tenant.
    ///   - states: only jobs in these states; empty for every state. Default:
    ///     `JobState.claimable` (scheduled, available, retrying: waiting to run).
    /// - Throws: ``JobTestingError/payloadDoesNotDecode(type:detail:)``, or the store's error.
    public static func enqueued<J: Job>(
        _ type: J.Type, in store: any JobInspectionStore, tenant: TenantID? = nil, states: [JobState] = JobState.claimable
    ) async throws -> [StoredJob<J>] {
        let filter = JobFilter(states: states, types: [J.name], tenants: tenant.map { [$0] } ?? [])
        return try await all(store, filter).map { try StoredJob(decoding: $0) }
    }

    // MARK: Internals shared with the drain

    /// Claims job `id`, the only due job of `queue`.
    private func claim(_ id: JobID, queue: String) async throws -> ClaimedJob {
        let now = clock.now()
        let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 1, worker: workerID, now: now, leaseUntil: now.adding(Self.leaseDuration)))
        guard let job = claimed.first, job.id == id else { throw JobTestingError.notClaimed(id, queue: queue) }
        return job
    }

    /// Leases last an hour of the test clock: the clock moves only between attempts.
    static let leaseDuration: Duration = .seconds(3600)

    /// Writes one attempt's end.
    func record(_ finish: AttemptFinish) async throws {
        guard try await store.finish([finish]).first == .applied else { throw JobTestingError.outcomeRefused(finish.lease.jobID) }
    }

    /// Runs one claimed attempt, records its outcome as a worker would, and reports it.
    func run(_ job: ClaimedJob, _ runner: JobRegistry.Entry) async throws -> JobRun {
        let newestBefore = try await store.jobs(JobFilter(limit: 1)).first?.id
        let startedAt = clock.now()
        let context = JobContext(
            claimed: job, clock: clock, queueClient: queue, dependencies: dependencies, worker: workerID,
            startedAt: startedAt, logger: logger, redactor: runner.redactor
        )
        var thrown: (any Error)?
        do {
            try await Tenant.$current.withValue(job.tenant) { try await runner.decodeAndRun(job.payload, context) }
        } catch {
            thrown = error
        }
        let outcome: AttemptOutcome
        let next: NextState
        let recorded: AttemptError?
        if await context.resolvedCompletionInTransaction() != nil {
            // The job completed itself in the application's transaction: already recorded.
            (outcome, next, recorded) = (.succeeded, .completed, nil)
        } else {
            let endedAt = clock.now()
            let result: RetryDecision.Result
            (outcome, result, recorded) = judge(thrown, redactor: runner.redactor, payload: job.payload)
            next = RetryDecision.next(
                after: result, attempt: job.attempt, maxAttempts: job.maxAttempts, firstAttemptAt: job.firstAttemptAt,
                now: endedAt, options: runner.options, unitRandom: jitterRandom
            )
            try await record(AttemptFinish(
                lease: job.lease, attempt: job.attempt, worker: workerID, startedAt: startedAt, endedAt: endedAt,
                outcome: outcome, error: recorded, next: next
            ))
        }
        guard let record = try await store.job(job.id) else { throw SuretyError(.notFound, "job \(job.id) vanished from the store during its attempt") }
        let followUps = try await jobs(after: newestBefore)
        let effects = try await (store as? any EffectLedgerStore)?.effects(of: job.id) ?? []
        return JobRun(
            id: job.id, type: job.type, tenant: job.tenant, attempt: job.attempt, error: thrown, outcome: outcome,
            next: next, recordedError: recorded, record: record, followUps: followUps, effects: effects
        )
    }

    /// The attempt's outcome, by the worker's rules for an attempt that ended by itself (no
    /// timeout, shutdown or cancel request inline).
    private func judge(_ error: (any Error)?, redactor: Redactor, payload: String) -> (AttemptOutcome, RetryDecision.Result, AttemptError?) {
        AttemptJudgement.judge(error, classifier: classifier, redactor: redactor, payload: payload)
    }

    /// The jobs inserted after job `id` (every job when `nil`), oldest first: ids only grow.
    private func jobs(after id: JobID?) async throws -> [JobRecord] {
        var filter = JobFilter(limit: 100)
        var records: [JobRecord] = []
        while true {
            let page = try await store.jobs(filter)
            records += page.filter { record in id.map { record.id > $0 } ?? true }
            guard page.count == filter.limit, let last = page.last, id.map({ last.id > $0 }) ?? true else { break }
            filter.beforeID = last.id
        }
        return records.reversed()
    }

    /// Every job matching `filter`, oldest first (the store pages newest first).
    static func all(_ store: any JobInspectionStore, _ filter: JobFilter) async throws -> [JobRecord] {
        var filter = filter
        filter.limit = 500
        var records: [JobRecord] = []
        while true {
            let page = try await store.jobs(filter)
            records += page
            guard page.count == filter.limit, let last = page.last else { break }
            filter.beforeID = last.id
        }
        return records.reversed()
    }
}

