import Foundation

/// Selects jobs for listing and for bulk operator actions. Empty fields match everything.
public struct JobFilter: Sendable, Hashable {
    public var states: [JobState]
    public var queues: [String]
    public var types: [String]
    public var tenants: [TenantID]
    /// Jobs carrying this tag.
    public var tag: String?
    /// Jobs whose correlation IDs include all these pairs.
    public var correlation: [String: String]
    /// Jobs that reached the inbox for this reason.
    public var deadReason: DeadReason?
    /// Jobs enqueued at or after this time.
    public var enqueuedAfter: Date?
    /// Jobs enqueued before this time.
    public var enqueuedBefore: Date?
    /// Jobs whose last error has one of these types (for example `Timeout`). Default: any.
    public var errorTypes: [String] = []
    /// Jobs whose last error has this class. Default: any.
    public var errorClass: ErrorClass?
    /// Jobs that reached a terminal state (completed, dead, cancelled) at or after this time.
    public var finishedAfter: Date?
    /// Jobs that reached a terminal state before this time.
    public var finishedBefore: Date?
    /// Only ids below this one (paging: pass the last id of the previous page).
    public var beforeID: JobID?
    /// At most this many, newest first. Default: 100.
    public var limit: Int

    public init(
        states: [JobState] = [], queues: [String] = [], types: [String] = [], tenants: [TenantID] = [],
        tag: String? = nil, correlation: [String: String] = [:], deadReason: DeadReason? = nil,
        enqueuedAfter: Date? = nil, enqueuedBefore: Date? = nil, beforeID: JobID? = nil, limit: Int = 100
    ) {
        self.states = states
        self.queues = queues
        self.types = types
        self.tenants = tenants
        self.tag = tag
        self.correlation = correlation
        self.deadReason = deadReason
        self.enqueuedAfter = enqueuedAfter
        self.enqueuedBefore = enqueuedBefore
        self.beforeID = beforeID
        self.limit = limit
    }

    /// Whether a record matches (used by the memory store; SQL stores translate the filter).
    public func matches(_ job: JobRecord) -> Bool {
        if !states.isEmpty, !states.contains(job.state) { return false }
        if !queues.isEmpty, !queues.contains(where: { $0.sameBytes(job.queue) }) { return false }
        if !types.isEmpty, !types.contains(where: { $0.sameBytes(job.type) }) { return false }
        if !tenants.isEmpty, !tenants.contains(job.tenant) { return false }
        if let tag, !job.tags.contains(tag) { return false }
        for (key, value) in correlation where job.correlation[key] != value { return false }
        if let deadReason, job.deadReason != deadReason { return false }
        if let enqueuedAfter, job.enqueuedAt < enqueuedAfter { return false }
        if let enqueuedBefore, job.enqueuedAt >= enqueuedBefore { return false }
        if !errorTypes.isEmpty, !errorTypes.contains(job.lastError?.type ?? "\u{0}") { return false }
        if let errorClass, job.lastError?.errorClass != errorClass { return false }
        if let finishedAfter, (job.finishedAt ?? .distantPast) < finishedAfter { return false }
        if let finishedBefore, (job.finishedAt ?? .distantFuture) >= finishedBefore { return false }
        if let beforeID, job.id >= beforeID { return false }
        return true
    }
}

/// The number of jobs in one (queue, type, state) group.
public struct JobCount: Sendable, Hashable, Codable {
    public var queue: String
    public var type: String
    public var state: JobState
    public var count: Int
    public init(queue: String, type: String, state: JobState, count: Int) {
        self.queue = queue
        self.type = type
        self.state = state
        self.count = count
    }
}
