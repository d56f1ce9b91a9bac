import Foundation

/// The runtime contract: what a worker, a ``JobQueue`` and the lease rescuer need from a store,
/// and all a store must implement to run jobs. SQLite (embedded default), PostgreSQL, the memory
/// store for unit tests, or a user's own. `SuretyTesting.StoreConformance` checks an
/// implementation.
///
/// Every method is one atomic state transition (one statement or one transaction); the runtime
/// never reads and then writes across calls. Every write of an attempt is conditional on the
/// attempt's ``Lease`` token. Times are passed in by the caller (the runtime's clock), so stores
/// never read a clock of their own.
///
/// **Capabilities.** Everything else a store may offer is a capability protocol in this folder
/// (Sources/Surety/StoreContract), one rule for all of them: each is named `<Noun>Store`, refines
/// `JobStore` directly and adds only its own methods, and code that needs one detects it with
/// `as? any <Capability>` (or asks for `any JobStore & <Capability>`), so a store without it
/// still runs jobs. Operators' reads and writes are capabilities too: ``JobInspectionStore``
/// (job, jobs, attempts, audit, counts) and ``OperatorActionStore`` (requeue, discard, cancel).
/// The others: ``AvailabilitySignalStore``, ``CancelRequestStore``, ``EffectLedgerStore``,
/// ``FlowControlStore``, ``JobStatisticsStore``, ``MaintenanceLeadershipStore``,
/// ``RetentionStore``, ``ScheduleStore``, ``WorkflowStore``, ``AlertStateStore`` and
/// ``AlertObservationsStore``. A full store (the three shipped ones) declares them all; the
/// conformance suite skips, and reports, the groups of a capability a store lacks.
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

extension JobStore {
    public func heartbeat(_ leases: [Lease], now: Date, until: Date) async throws -> [Lease] {
        try await heartbeat(leases, until: until)
    }
}
