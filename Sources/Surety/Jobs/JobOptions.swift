/// Per-job-type settings. Every field has a documented default; a type overrides what it needs
/// with `static let options = JobOptions(queue: "email", maxAttempts: 5)`.
public struct JobOptions: Sendable, Hashable {
    /// The queue the job is placed in. Workers claim from the queues they are configured for.
    /// Default: `"default"`.
    public var queue: String
    /// Lower numbers run first within a queue (as in Oban): 0 is the most urgent, 9 the least.
    /// Default: `0`.
    public var priority: Int
    /// The most attempts a job gets, counting the first. A snooze or a shutdown does not use
    /// an attempt. Default: `20`.
    public var maxAttempts: Int
    /// The delay before each retry. Default: ``Backoff/standard``
    /// (5 s doubling per attempt, capped at 1 h, ±20 % jitter).
    public var backoff: Backoff
    /// The total time a job may keep retrying, counted from the start of its first attempt.
    /// A retry that would start after this budget sends the job to the dead-letter inbox
    /// instead. `nil` means no budget. A budget longer than ``Swift/Duration/maximumInterval``
    /// (100 years) counts as that long. Default: 24 hours.
    public var retryBudget: Duration?
    /// How long one attempt may run before its task is cancelled and the attempt recorded as
    /// timed out (a transient failure). A timeout longer than ``Swift/Duration/maximumInterval``
    /// (100 years), such as `.seconds(.max)`, counts as that long: in practice no timeout.
    /// Default: 5 minutes.
    public var timeout: Duration
    /// Which states hold a unique key (see ``Job/uniqueKey``). Default: ``UniqueScope/whileActive``.
    public var uniqueScope: UniqueScope
    /// When `true`, a job of this type without a partition key of its own (``Job/partitionKey``,
    /// ``EnqueueOptions/partitionKey``) takes its tenant's id as partition key, so per-key limits
    /// and fairness (``QueueLimits``) apply per tenant. Default: `false`.
    public var partitionByTenant: Bool

    public init(
        queue: String = "default",
        priority: Int = 0,
        maxAttempts: Int = 20,
        backoff: Backoff = .standard,
        retryBudget: Duration? = .seconds(24 * 3600),
        timeout: Duration = .seconds(300),
        uniqueScope: UniqueScope = .whileActive,
        partitionByTenant: Bool = false
    ) {
        self.queue = queue
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.retryBudget = retryBudget
        self.timeout = timeout
        self.uniqueScope = uniqueScope
        self.partitionByTenant = partitionByTenant
    }
}

/// How long a unique key keeps blocking duplicates of a job, within one tenant.
public enum UniqueScope: String, Sendable, Hashable, Codable, CaseIterable {
    /// The key is held while the job is scheduled, available, running or waiting to retry.
    /// Once it completes, is cancelled or reaches the dead-letter inbox, the key is free again
    /// (a requeue from the inbox takes the key back, and fails if a newer job holds it).
    case whileActive = "while_active"
    /// The key is held for as long as the job's row exists, whatever its state; retention
    /// pruning frees it.
    case forever = "forever"
}
