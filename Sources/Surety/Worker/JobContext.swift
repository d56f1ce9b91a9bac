import Foundation
import Logging

/// What a job sees while it runs: who it is, which attempt, for which tenant, a logger already
/// tagged with all of that, and a way to enqueue follow-up work in the same tenant.
public struct JobContext: Sendable {
    public let id: JobID
    public let type: String
    public let queue: String
    /// This attempt's number, 1 for the first.
    public let attempt: Int
    public let maxAttempts: Int
    /// The tenant restored from the stored job, also set as ``Tenant/current``.
    public let tenant: TenantID
    public let tags: [String]
    public let correlation: [String: String]
    public let enqueuedAt: Date
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
    /// The attempt's lease (`nil` outside a worker, for example in a perform-once test helper).
    let lease: Lease?
    /// When this attempt started.
    public let startedAt: Date
    let completionState: AttemptCompletionState?

    /// The registered service of type `T` (see ``JobDependencies``).
    public func dependency<T: Sendable>(_ type: T.Type = T.self) throws -> T {
        try dependencies.get(type)
    }

    /// A key that is the same on every attempt of this job and differs between jobs, tenants and
    /// operations: `surety:<tenant>:<job id>:<operation>`. Hand it to providers that accept
    /// idempotency keys so a retry cannot repeat the effect.
    public func idempotencyKey(_ operation: String) -> String {
        "surety:\(tenant.rawValue):\(id.rawValue):\(operation)"
    }

    /// Enqueues a follow-up job in this job's tenant, inheriting its correlation IDs (values in
    /// `options.correlation` win).
    @discardableResult
    public func enqueue<J: Job>(_ job: J, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        try await enqueue(job, inAnotherTenant: tenant, options: options)
    }

    /// Enqueues a follow-up job for a different tenant: an explicit, greppable choice.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, inAnotherTenant other: TenantID, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        var options = options
        options.correlation = correlation.merging(options.correlation) { _, new in new }
        return try await queueClient.enqueue(job, tenant: other, options: options)
    }
}
