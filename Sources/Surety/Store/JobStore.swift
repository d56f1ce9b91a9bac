import Foundation

/// The contract every store fulfils: SQLite (embedded default), PostgreSQL, the memory store for
/// unit tests, or a user's own. `SuretyTesting.StoreConformance` checks an implementation.
///
/// Every method is one atomic state transition (one statement or one transaction); the runtime
/// never reads and then writes across calls. Every write of an attempt is conditional on the
/// attempt's ``Lease`` token. Times are passed in by the caller (the runtime's clock), so stores
/// never read a clock of their own.
public protocol JobStore: Sendable {
    /// Creates or upgrades the schema. Safe to call on every start.
    func migrate() async throws

    /// Inserts the jobs in one transaction, in order. A job whose unique key is held by another
    /// job of the same tenant (see ``UniqueScope``) is not inserted: its entry reports the
    /// holder's id with `inserted == false`.
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob]

    /// Leases up to `request.limit` due jobs from `request.queues` (state scheduled, available or
    /// retrying with `run_at <= now`), most urgent first: priority, then run_at, then id. Each
    /// claimed job gets a new lease token, its attempt number incremented and `running` state.
    func claim(_ request: ClaimRequest) async throws -> [ClaimedJob]

    /// Extends the leases that are still held to `until`. Returns the leases that are no longer
    /// held (the job was rescued, finished or cancelled elsewhere).
    func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease]

    /// ``heartbeat(_:until:)`` with the caller's `now`, so a store that keeps lease times on a
    /// clock of its own (PostgreSQL's database clock, see `PostgresStore.LeaseClock`) extends
    /// each lease by `until - now` from that clock. Default: `heartbeat(leases, until: until)`.
    func heartbeat(_ leases: [Lease], now: Date, until: Date) async throws -> [Lease]

    /// Records the end of attempts, each conditional on its lease token (and, for the rescuer,
    /// on the lease having expired). Failed, timed-out, lost, snoozed, interrupted and cancelled
    /// attempts append a history row; a success updates the job row only. Returns one result per
    /// finish, in order.
    func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult]

    /// Running jobs whose lease expired at or before `now`, oldest lease first.
    func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease]

    /// One job, or `nil`.
    func job(_ id: JobID) async throws -> JobRecord?

    /// Jobs matching the filter, newest first, at most `filter.limit`.
    func jobs(_ filter: JobFilter) async throws -> [JobRecord]

    /// The job's attempts in order: history rows, then the current or successful last attempt
    /// from the job row.
    func attempts(of id: JobID) async throws -> [AttemptRecord]

    /// Operator actions on the job, oldest first.
    func audit(of id: JobID) async throws -> [AuditRecord]

    /// Moves dead or cancelled jobs back to `available` now with their attempt count reset,
    /// re-taking a ``UniqueScope/whileActive`` key, and writes an audit row per job.
    /// Jobs in other states, or whose key another active job now holds, are skipped.
    func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult

    /// Moves dead jobs to `cancelled` with the reason as a "won't retry" note, and writes an
    /// audit row per job. Jobs in other states are skipped.
    func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult

    /// Cancels jobs that are waiting (scheduled, available, retrying), and writes an audit row
    /// per job. Running and finished jobs are skipped.
    func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult

    /// Job counts grouped by queue, type and state.
    func counts() async throws -> [JobCount]
}

/// A capability: the store can tell workers in this process that jobs became available, so an
/// idle worker starts a new job without waiting for its next poll.
public protocol JobAvailabilityNotifying: Sendable {
    /// A stream that yields whenever jobs may have become claimable.
    func availabilitySignals() -> AsyncStream<Void>
}

/// A running job whose worker stopped heartbeating, as the rescuer sees it.
public struct ExpiredLease: Sendable, Hashable {
    /// The job with the lease it was claimed under.
    public var job: ClaimedJob
    /// The worker that held the lease.
    public var worker: String
    /// When that worker's attempt started.
    public var startedAt: Date
    public init(job: ClaimedJob, worker: String, startedAt: Date) {
        self.job = job
        self.worker = worker
        self.startedAt = startedAt
    }
}

/// The result of an operator action on many jobs.
public struct BulkResult: Sendable, Hashable, Codable {
    /// Jobs the action changed.
    public var changed: [JobID]
    /// Jobs it left alone, with why.
    public var skipped: [Skipped]

    public struct Skipped: Sendable, Hashable, Codable {
        public var id: JobID
        public var reason: String
        public init(id: JobID, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    public init(changed: [JobID] = [], skipped: [Skipped] = []) {
        self.changed = changed
        self.skipped = skipped
    }
}

extension JobStore {
    public func heartbeat(_ leases: [Lease], now: Date, until: Date) async throws -> [Lease] {
        try await heartbeat(leases, until: until)
    }
}
