import Foundation

/// Per-call settings for enqueue. Every field is optional and falls back to the job type's
/// ``JobOptions``.
public struct EnqueueOptions: Sendable {
    /// Run no earlier than this time. Default: `nil`, run as soon as possible (or after `delay`).
    public var runAt: Date?
    /// Run no earlier than this long from now. Ignored when `runAt` is set. Default: `nil`.
    public var delay: Duration?
    /// Overrides ``Job/uniqueKey``. Default: `nil`, use the job's own key if it has one.
    public var uniqueKey: String?
    /// Overrides the type's queue. Default: `nil`.
    public var queue: String?
    /// Overrides the type's priority. Default: `nil`.
    public var priority: Int?
    /// Overrides the type's maximum attempts. Default: `nil`.
    public var maxAttempts: Int?
    /// Free-form labels stored with the job, usable as filters (for example `"import"`).
    /// Default: none.
    public var tags: [String]
    /// Correlation IDs such as `user_id`, `order_id`, `request_id`: stored with the job, added
    /// to every log line of its attempts, shown in dead-letter views, usable as filters.
    /// Jobs enqueued from inside a job inherit its correlation IDs. Default: none.
    public var correlation: [String: String]
    /// The job's partition key for flow control (per-key concurrency, rate limits, ordering and
    /// fairness; see ``QueueLimits``), such as an account id. Overrides ``Job/partitionKey`` and
    /// ``JobOptions/partitionByTenant``. Default: `nil`.
    public var partitionKey: String?
    /// Overrides the type's ``JobOptions/uniqueScope`` for this call's unique key. Default: `nil`,
    /// the type's scope.
    public var uniqueScope: UniqueScope?

    public init(
        runAt: Date? = nil,
        delay: Duration? = nil,
        uniqueKey: String? = nil,
        queue: String? = nil,
        priority: Int? = nil,
        maxAttempts: Int? = nil,
        tags: [String] = [],
        correlation: [String: String] = [:],
        partitionKey: String? = nil,
        uniqueScope: UniqueScope? = nil
    ) {
        self.runAt = runAt
        self.delay = delay
        self.uniqueKey = uniqueKey
        self.queue = queue
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.tags = tags
        self.correlation = correlation
        self.partitionKey = partitionKey
        self.uniqueScope = uniqueScope
    }
}

/// What enqueue returns.
public struct EnqueuedJob: Sendable, Hashable {
    /// The job's id: the new job's, or the existing one's when a unique key matched.
    public var id: JobID
    /// `false` when a unique key matched an existing job and nothing was inserted.
    public var inserted: Bool
    /// `true` when the queue was full and its ``OverflowPolicy/dropNew`` policy dropped the job:
    /// nothing was inserted and `id` is ``JobID/none``. Default: `false`.
    public var dropped: Bool

    /// For stores outside this module.
    public init(id: JobID, inserted: Bool, dropped: Bool = false) {
        self.id = id
        self.inserted = inserted
        self.dropped = dropped
    }
}
