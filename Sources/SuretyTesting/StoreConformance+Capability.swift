import Surety

extension StoreConformance {
    /// A capability protocol a group may need (Sources/Surety/StoreContract lists them all).
    public enum Capability: String, CaseIterable, Sendable {
        case inspection = "JobInspectionStore"
        case operatorActions = "OperatorActionStore"
        case availabilitySignals = "AvailabilitySignalStore"
        case cancelRequests = "CancelRequestStore"
        case effectLedger = "EffectLedgerStore"
        case flowControl = "FlowControlStore"
        case statistics = "JobStatisticsStore"
        case maintenanceLeadership = "MaintenanceLeadershipStore"
        case retention = "RetentionStore"
        case schedules = "ScheduleStore"
        case workflows = "WorkflowStore"
        case alertState = "AlertStateStore"
        case alertObservations = "AlertObservationsStore"

        /// The protocol's name, as skip reports give it.
        public var protocolName: String { rawValue }

        /// Whether `store` conforms to the protocol.
        public func isProvided(by store: any JobStore) -> Bool {
            switch self {
            case .inspection: store is any JobInspectionStore
            case .operatorActions: store is any OperatorActionStore
            case .availabilitySignals: store is any AvailabilitySignalStore
            case .cancelRequests: store is any CancelRequestStore
            case .effectLedger: store is any EffectLedgerStore
            case .flowControl: store is any FlowControlStore
            case .statistics: store is any JobStatisticsStore
            case .maintenanceLeadership: store is any MaintenanceLeadershipStore
            case .retention: store is any RetentionStore
            case .schedules: store is any ScheduleStore
            case .workflows: store is any WorkflowStore
            case .alertState: store is any AlertStateStore
            case .alertObservations: store is any AlertObservationsStore
            }
        }
    }
}
