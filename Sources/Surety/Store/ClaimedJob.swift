import Foundation

/// What a claim hands to a worker: everything needed to run one attempt.
public struct ClaimedJob: Sendable, Hashable {
    public var id: JobID
    public var type: String
    public var queue: String
    public var priority: Int
    /// Restored from the stored row for every attempt.
    public var tenant: TenantID
    public var payload: String
    /// This attempt's number, 1 for the first.
    public var attempt: Int
    public var maxAttempts: Int
    public var lease: Lease
    public var leaseUntil: Date
    public var enqueuedAt: Date
    /// When the job became due (for queue latency).
    public var runAt: Date
    /// When the first attempt started (for the retry budget).
    public var firstAttemptAt: Date
    public var tags: [String]
    public var correlation: [String: String]
    /// The trace context captured at enqueue; the attempt's span links to it.
    public var traceContext: [String: String]

    public init(
        id: JobID, type: String, queue: String, priority: Int, tenant: TenantID, payload: String,
        attempt: Int, maxAttempts: Int, lease: Lease, leaseUntil: Date, enqueuedAt: Date, runAt: Date,
        firstAttemptAt: Date, tags: [String], correlation: [String: String], traceContext: [String: String] = [:]
    ) {
        self.id = id
        self.type = type
        self.queue = queue
        self.priority = priority
        self.tenant = tenant
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.lease = lease
        self.leaseUntil = leaseUntil
        self.enqueuedAt = enqueuedAt
        self.runAt = runAt
        self.firstAttemptAt = firstAttemptAt
        self.tags = tags
        self.correlation = correlation
        self.traceContext = traceContext
    }
}

extension ClaimedJob {
    /// The claimed view of a running job's record under its lease token: what every store hands
    /// a worker after a claim, and the rescuer for an expired lease. `now` stands in for a lease
    /// end or first attempt the record lacks (a row written by hand).
    public init(record job: JobRecord, leaseToken: Int64, now: Date) {
        self.init(
            id: job.id, type: job.type, queue: job.queue, priority: job.priority, tenant: job.tenant,
            payload: job.payload, attempt: job.attempt, maxAttempts: job.maxAttempts,
            lease: Lease(jobID: job.id, token: leaseToken), leaseUntil: job.leaseUntil ?? now,
            enqueuedAt: job.enqueuedAt, runAt: job.runAt, firstAttemptAt: job.firstAttemptAt ?? job.attemptedAt ?? now,
            tags: job.tags, correlation: job.correlation, traceContext: job.traceContext
        )
    }
}

/// A claim: take up to `limit` due jobs from `queues`, most urgent first
/// (priority, then run_at, then id), and lease them to `worker` until `leaseUntil`.
public struct ClaimRequest: Sendable, Hashable {
    public var queues: [String]
    public var limit: Int
    public var worker: String
    public var now: Date
    public var leaseUntil: Date

    public init(queues: [String], limit: Int, worker: String, now: Date, leaseUntil: Date) {
        self.queues = queues
        self.limit = limit
        self.worker = worker
        self.now = now
        self.leaseUntil = leaseUntil
    }
}

extension ClaimRequest {
    /// What the claim is to each job it takes.
    public var event: JobEvent { .claim(worker: worker, at: now, leaseUntil: leaseUntil) }

    /// The transition of each job it takes (``JobLifecycle/transition(for:)`` of ``event``).
    public var transition: JobTransition { JobLifecycle.transition(for: event) }
}
