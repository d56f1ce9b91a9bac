import Foundation

/// A job as stored, for operators' views (`surety jobs show`, the dead-letter inbox).
public struct JobRecord: Sendable, Hashable, Codable {
    public var id: JobID
    public var type: String
    public var queue: String
    public var priority: Int
    public var tenant: TenantID
    public var state: JobState
    /// The payload as JSON text, unredacted. Redact before showing it (``Redactor``).
    public var payload: String
    /// Attempts started so far (snoozes and shutdown releases do not count).
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var enqueuedAt: Date
    public var firstAttemptAt: Date?
    /// When the current or last attempt started, and by which worker.
    public var attemptedAt: Date?
    public var attemptedBy: String?
    public var leaseUntil: Date?
    /// When the job reached a terminal state.
    public var finishedAt: Date?
    public var lastError: AttemptError?
    public var deadReason: DeadReason?
    public var uniqueKey: String?
    public var uniqueScope: UniqueScope
    public var tags: [String]
    public var correlation: [String: String]
    /// The last operator note (a requeue's or discard's reason).
    public var note: String?
    /// The flow-control partition key (see ``QueueLimits``).
    public var partitionKey: String?
    /// The trace context captured at enqueue (empty when no trace was active).
    public var traceContext: [String: String]

    public init(
        id: JobID, type: String, queue: String, priority: Int, tenant: TenantID, state: JobState,
        payload: String, attempt: Int, maxAttempts: Int, runAt: Date, enqueuedAt: Date,
        firstAttemptAt: Date? = nil, attemptedAt: Date? = nil, attemptedBy: String? = nil,
        leaseUntil: Date? = nil, finishedAt: Date? = nil, lastError: AttemptError? = nil,
        deadReason: DeadReason? = nil, uniqueKey: String? = nil, uniqueScope: UniqueScope = .whileActive,
        tags: [String] = [], correlation: [String: String] = [:], note: String? = nil,
        partitionKey: String? = nil,
        traceContext: [String: String] = [:]
    ) {
        self.id = id
        self.type = type
        self.queue = queue
        self.priority = priority
        self.tenant = tenant
        self.state = state
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.enqueuedAt = enqueuedAt
        self.firstAttemptAt = firstAttemptAt
        self.attemptedAt = attemptedAt
        self.attemptedBy = attemptedBy
        self.leaseUntil = leaseUntil
        self.finishedAt = finishedAt
        self.lastError = lastError
        self.deadReason = deadReason
        self.uniqueKey = uniqueKey
        self.uniqueScope = uniqueScope
        self.tags = tags
        self.correlation = correlation
        self.note = note
        self.partitionKey = partitionKey
        self.traceContext = traceContext
    }
}

/// One attempt in a job's history. Failed, timed-out, lost, snoozed and interrupted attempts are
/// stored as history rows; a successful last attempt is read from the job row, so a job that
/// succeeds first time costs no history row.
public struct AttemptRecord: Sendable, Hashable, Codable {
    public var jobID: JobID
    public var attempt: Int
    public var worker: String
    public var startedAt: Date
    /// `nil` while the attempt is still running.
    public var endedAt: Date?
    /// `nil` while the attempt is still running.
    public var outcome: AttemptOutcome?
    public var error: AttemptError?

    public init(jobID: JobID, attempt: Int, worker: String, startedAt: Date, endedAt: Date?, outcome: AttemptOutcome?, error: AttemptError?) {
        self.jobID = jobID
        self.attempt = attempt
        self.worker = worker
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.error = error
    }

    /// How long the attempt ran, when it has ended.
    public var duration: TimeInterval? { endedAt.map { $0.timeIntervalSince(startedAt) } }
}

/// An operator action, recorded in the audit table: who did what to which job, when, and why.
public struct AuditRecord: Sendable, Hashable, Codable {
    public var jobID: JobID
    /// `requeue`, `discard` or `cancel`.
    public var action: String
    public var actor: String
    public var reason: String
    public var at: Date

    public init(jobID: JobID, action: String, actor: String, reason: String, at: Date) {
        self.jobID = jobID
        self.action = action
        self.actor = actor
        self.reason = reason
        self.at = at
    }
}

/// Who is acting and why: required for every operator action.
public struct OperatorAction: Sendable, Hashable {
    public var actor: String
    public var reason: String
    public var at: Date
    /// For a requeue: when the jobs become claimable. Default: `nil`, at once (`at`). A later
    /// time puts them in `scheduled` until then, so a bulk requeue can release jobs gradually.
    public var releaseAt: Date?

    /// NUL characters (U+0000), which PostgreSQL cannot store, become U+FFFD in both.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when `actor` or `reason` is blank.
    public init(actor: String, reason: String, at: Date, releaseAt: Date? = nil) throws {
        let actor = AttemptError.storable(actor).trimmingCharacters(in: .whitespacesAndNewlines)
        let reason = AttemptError.storable(reason).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !actor.isEmpty else { throw SuretyError(.invalidArgument, "an operator action needs a non-empty actor (--by)") }
        guard !reason.isEmpty else { throw SuretyError(.invalidArgument, "an operator action needs a non-empty reason (--reason)") }
        self.actor = actor
        self.reason = reason
        self.at = at
        self.releaseAt = releaseAt
    }
}
