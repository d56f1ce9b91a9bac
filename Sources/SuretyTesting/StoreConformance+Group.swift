import Surety

extension StoreConformance {
    /// The groups of checks, runnable one at a time. Each names the capabilities it needs
    /// (``requirements``); a store without one of them skips the group.
    public enum Group: String, CaseIterable, Sendable {
        case enqueueAndUniqueKeys = "enqueue and unique keys"
        case claimAndLease = "claim and lease"
        /// Priorities outside 0…9 are ordered too; jobs scheduled later at an urgent priority do
        /// not hide due ones (StoreConformance+Priorities.swift).
        case priorities = "priorities and due jobs"
        case heartbeatAndRescue = "heartbeat and rescue"
        /// `JobStore.expiredLeases(now:limit:)`: oldest lease first, up to the limit
        /// (StoreConformance+RescueOrder.swift).
        case rescueOrder = "rescue order and limits"
        case fencing = "fencing by lease token"
        /// Batches of finishes are fenced per finish, in order, even for the same job twice
        /// (StoreConformance+FinishBatches.swift).
        case finishBatches = "finish batches"
        case retryAndDeadLetter = "retry and dead-letter"
        case requeueAndAudit = "requeue and audit"
        case tenancy = "tenancy"
        case cancellation = "cancellation"
        case queries = "queries and filters"
        case concurrencyRaces = "concurrency races"
        case effects = "effect ledger"
        case effectFencing = "effect ledger fencing"
        /// `EffectLedgerStore.resolveEffect(_:finding:action:)`: an operator's finding
        /// about an in-doubt effect, audited (StoreConformance+EffectResolution.swift).
        case effectResolution = "effect ledger resolution"
        /// `MaintenanceLeadershipStore`: one body per task at a time, resigning; a store
        /// without it lets every caller run (StoreConformance+Leadership.swift).
        case maintenanceLeadership = "maintenance leadership"
        case alerts = "alerts"
        case concurrencyLimits = "concurrency limits"
        case orderedExecution = "ordered execution"
        case rateLimits = "rate limits"
        case fairness = "fairness"
        case loadShedding = "load shedding"
        case retention = "retention"
        case traceContext = "trace context"
        case deadLetterFilters = "dead-letter filters and staggered release"
        /// `CancelRequestStore`: cancel requests for running jobs
        /// (StoreConformance+RunningCancellation.swift).
        case runningCancellation = "cancellation of running jobs"
        /// `ScheduleStore`: stored schedules, pause state, last slots (StoreConformance+Schedules.swift).
        case schedules = "schedules"
        /// `JobStatisticsStore`: the overview's aggregation (StoreConformance+Statistics.swift).
        case statistics = "statistics"
        /// `WorkflowStore`: steps released exactly once, fan-in races, failure,
        /// compensation, cancellation (StoreConformance+Workflows.swift).
        case workflows = "workflows"
        /// NUL, control characters, invalid UTF-8 as decoded, 1 MB values and other hostile text in
        /// every string a store takes: refused with a clear error or kept byte for byte
        /// (StoreConformance+HostileInput.swift). Its sections for capabilities the store lacks
        /// are skipped and reported (``Outcome/skippedParts``).
        case hostileInput = "hostile input"

        /// The capabilities the group needs: every group reads its results back and acts as an
        /// operator (``Capability/inspection``, ``Capability/operatorActions``), and a group about
        /// a capability needs that one too.
        public var requirements: [Capability] {
            let base: [Capability] = [.inspection, .operatorActions]
            switch self {
            case .effects, .effectFencing, .effectResolution: return base + [.effectLedger]
            case .alerts: return base + [.alertObservations, .alertState]
            case .concurrencyLimits, .orderedExecution, .rateLimits, .fairness, .loadShedding: return base + [.flowControl]
            case .retention: return base + [.retention]
            case .runningCancellation: return base + [.cancelRequests]
            case .schedules: return base + [.schedules]
            case .statistics: return base + [.statistics]
            case .workflows: return base + [.workflows]
            case .enqueueAndUniqueKeys, .claimAndLease, .priorities, .heartbeatAndRescue, .rescueOrder, .fencing, .finishBatches,
                 .retryAndDeadLetter, .requeueAndAudit, .tenancy, .cancellation, .queries, .concurrencyRaces, .maintenanceLeadership,
                 .traceContext, .deadLetterFilters, .hostileInput:
                return base
            }
        }
    }
}
