import Foundation
import Logging
import Synchronization

/// What a job sees while it runs: who it is, which attempt, for which tenant, a logger already
/// tagged with all of that, and a way to enqueue follow-up work in the same tenant.
public struct JobContext: Sendable {
    /// The claimed job this attempt runs: the fields below read from it.
    let job: ClaimedJob
    public var id: JobID { job.id }
    public var type: String { job.type }
    public var queue: String { job.queue }
    /// This attempt's number, 1 for the first.
    public var attempt: Int { job.attempt }
    public var maxAttempts: Int { job.maxAttempts }
    /// The tenant restored from the stored job, also set as ``Tenant/current``.
    public var tenant: TenantID { job.tenant }
    public var tags: [String] { job.tags }
    public var correlation: [String: String] { job.correlation }
    public var enqueuedAt: Date { job.enqueuedAt }
    /// A logger carrying job id, type, queue, tenant, attempt, worker and correlation IDs (built
    /// on first use).
    public var logger: Logger { jobLogger.logger }
    let jobLogger: JobLogger
    /// The runtime's clock (a test clock in tests).
    public let clock: any SuretyClock
    /// The client, for enqueueing follow-up jobs.
    public let queueClient: JobQueue
    /// The worker's registered services.
    public let dependencies: JobDependencies
    /// The worker running this attempt.
    public let worker: String
    /// The attempt's lease: the claim's, in a worker and in a perform-once test helper alike
    /// (optional for the effect and completion code that checks it).
    var lease: Lease? { job.lease }
    /// When this attempt started.
    public let startedAt: Date
    let completionState: AttemptCompletionState?
    /// Hides the job type's secret values in text this runtime logs for the job (effect keys).
    let redactor: Redactor
    /// The stored payload, whose secret values `redactor` hides.
    var payload: String { job.payload }
    /// Numbers this attempt's follow-up enqueues (their default unique keys).
    let followUps = FollowUpSequence()

    /// The registered service of type `T` (see ``JobDependencies``).
    public func dependency<T: Sendable>(_ type: T.Type = T.self) throws -> T {
        try dependencies.get(type)
    }

    /// A key that is the same on every attempt of this job and differs between jobs, tenants and
    /// operations: `surety:<tenant>:<job id>:<operation>`, with `%` in the tenant and operation
    /// written as `%25` and `:` as `%3A` (as in ``EffectKey/idempotencyKey``), so a `:` cannot
    /// make two jobs' keys equal. Without those characters the key is what earlier releases
    /// produced. Hand it to providers that accept idempotency keys so a retry cannot repeat the
    /// effect.
    public func idempotencyKey(_ operation: String) -> String {
        "surety:\(EffectKey.escaped(tenant.rawValue)):\(id.rawValue):\(EffectKey.escaped(operation))"
    }

    /// Enqueues a follow-up job in this job's tenant, inheriting its correlation IDs (values in
    /// `options.correlation` win).
    ///
    /// A follow-up is enqueued once per job, however often the job runs: a job re-run after a
    /// failure or a crash (its first run enqueued, then died before completing) finds its
    /// follow-ups already there. Unless the job or `options` gives a unique key, the n-th
    /// follow-up of this job gets the key `surety-follow-up:<job id>:<n>` with scope
    /// ``UniqueScope/forever``, so it must be enqueued in the same order on every attempt (the
    /// usual case). A job that wants a follow-up per attempt passes its own key (with
    /// `context.attempt` in it). See docs/effects.md.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        try await enqueue(job, inAnotherTenant: tenant, options: options)
    }

    /// Enqueues a follow-up job for a different tenant: an explicit, greppable choice.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, inAnotherTenant other: TenantID, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        var options = options
        options.correlation = correlation.merging(options.correlation) { _, new in new }
        if options.uniqueKey == nil && job.uniqueKey == nil {
            options.uniqueKey = "surety-follow-up:\(id.rawValue):\(followUps.next())"
            options.uniqueScope = options.uniqueScope ?? .forever
        }
        return try await queueClient.enqueue(job, tenant: other, options: options)
    }
}

/// Numbers the follow-ups one attempt enqueues: 1, 2, 3, ... in call order.
final class FollowUpSequence: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}

extension JobContext {
    /// The context of one attempt of `job`, as a ``Worker`` builds it and as SuretyTesting's
    /// `JobTesting` (which runs jobs inline in tests) does: with the claim's lease, so effects,
    /// follow-ups and transactional completion work the same in both.
    package init(
        claimed job: ClaimedJob, clock: any SuretyClock, queueClient: JobQueue, dependencies: JobDependencies,
        worker: String, startedAt: Date, logger: Logger, redactor: Redactor
    ) {
        self.job = job
        self.jobLogger = JobLogger(base: logger, job: job)
        self.clock = clock
        self.queueClient = queueClient
        self.dependencies = dependencies
        self.worker = worker
        self.startedAt = startedAt
        self.completionState = AttemptCompletionState()
        self.redactor = redactor
    }

    /// Whether a store completed this attempt inside the application's transaction and that
    /// transaction committed (asking the store about a pending completion), as the worker checks
    /// after `run` returns. For runners outside a ``Worker``.
    package func resolvedCompletionInTransaction() async -> Date? {
        await completionState?.resolvedCompletion()
    }
}
