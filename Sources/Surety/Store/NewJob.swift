import Foundation

/// A job as handed to a store for insertion: validated and encoded by ``JobQueue``.
public struct NewJob: Sendable, Hashable {
    public var type: String
    public var queue: String
    public var priority: Int
    public var tenant: TenantID
    /// The payload as JSON text.
    public var payload: String
    public var runAt: Date
    public var enqueuedAt: Date
    public var maxAttempts: Int
    public var uniqueKey: String?
    public var uniqueScope: UniqueScope
    public var tags: [String]
    public var correlation: [String: String]
    /// The flow-control partition key (see ``QueueLimits``). Default: `nil`.
    public var partitionKey: String?
    /// The trace context of the code that enqueued the job (a W3C-style carrier filled by the
    /// tracer's `inject`), so every attempt's span can link to it. Empty when no trace was active.
    public var traceContext: [String: String]

    public init(
        type: String, queue: String, priority: Int, tenant: TenantID, payload: String,
        runAt: Date, enqueuedAt: Date, maxAttempts: Int, uniqueKey: String? = nil,
        uniqueScope: UniqueScope = .whileActive, tags: [String] = [], correlation: [String: String] = [:],
        partitionKey: String? = nil,
        traceContext: [String: String] = [:]
    ) {
        self.type = type
        self.queue = queue
        self.priority = priority
        self.tenant = tenant
        self.payload = payload
        self.runAt = runAt
        self.enqueuedAt = enqueuedAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.uniqueScope = uniqueScope
        self.tags = tags
        self.correlation = correlation
        self.partitionKey = partitionKey
        self.traceContext = traceContext
    }

    /// The state a new job starts in: `scheduled` when `runAt` is after `enqueuedAt`.
    public var initialState: JobState { runAt > enqueuedAt ? .scheduled : .available }
}
