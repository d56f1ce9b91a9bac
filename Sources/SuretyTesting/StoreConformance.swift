import Foundation
import Surety

/// One suite every store passes: the memory store, SQLite, PostgreSQL, or your own.
///
/// ```swift
/// @Test func conformance() async throws {
///     try await StoreConformance { try await MyStore.fresh() }.run()
/// }
/// ```
///
/// Each group runs on a fresh store from the factory (which must return a migrated, empty store).
/// A failure throws ``ConformanceFailure`` naming the group and the check. A group that needs a
/// capability the store lacks (``Capability``: say `FlowControlStore`) is skipped, not
/// failed: its ``Outcome`` says so and the suite reports it (by default on standard output:
/// "store conformance [rate limits]: skipped: the store does not provide FlowControlStore"). A
/// store that implements only the runtime contract (`JobStore`) skips every group, since
/// each reads its results back through `JobInspectionStore`.
///
/// The groups live one per file (`StoreConformance+<Group>.swift`); the values they build are
/// ``Fixtures``, public so a store's own tests can build the same jobs, claims and finishes.
public struct StoreConformance: Sendable {
    public typealias Factory = @Sendable () async throws -> any JobStore

    let makeStore: Factory
    let report: @Sendable (Outcome) -> Void

    /// - Parameters:
    ///   - report: told the outcome of every group run. Default: prints each skipped group
    ///     (``Outcome/description``) to standard output, so a skip shows in the test log.
    ///   - makeStore: returns a migrated, empty store; called once per group.
    public init(report: @escaping @Sendable (Outcome) -> Void = StoreConformance.printSkips, makeStore: @escaping Factory) {
        self.makeStore = makeStore
        self.report = report
    }

    /// The default report: prints skipped groups and skipped parts of groups.
    public static let printSkips: @Sendable (Outcome) -> Void = { outcome in
        if outcome.skipped || !outcome.skippedParts.isEmpty { print(outcome.description) }
    }

    /// What running one group did (a failure throws instead).
    public struct Outcome: Sendable, Hashable, CustomStringConvertible {
        public var group: Group
        /// The capabilities the group needs that the store lacks; empty when the group ran.
        public var missing: [Capability]
        /// Parts of a group that ran without them, each with the capability it lacked (the
        /// hostile-input group's effect-ledger section on a store without the ledger, say).
        public var skippedParts: [String]

        /// Whether the group was skipped (nothing of it ran).
        public var skipped: Bool { !missing.isEmpty }

        /// `store conformance [GROUP]: passed`, or `…: skipped: the store does not provide P, Q`,
        /// followed by the parts skipped.
        public var description: String {
            let head = "store conformance [\(group.rawValue)]: "
            if skipped { return head + "skipped: the store does not provide " + missing.map(\.protocolName).joined(separator: ", ") }
            guard !skippedParts.isEmpty else { return head + "passed" }
            return head + "passed; skipped parts: " + skippedParts.joined(separator: "; ")
        }
    }

    /// Runs the given groups (default: all), each on a fresh store, and returns their outcomes
    /// in order. Throws the first failure.
    @discardableResult
    public func run(_ groups: [Group] = Group.allCases) async throws -> [Outcome] {
        var outcomes: [Outcome] = []
        for group in groups { outcomes.append(try await run(group)) }
        return outcomes
    }

    /// Runs one group on a fresh store, or skips it when the store lacks a capability it needs.
    @discardableResult
    public func run(_ group: Group) async throws -> Outcome {
        let store = try await makeStore()
        let missing = group.requirements.filter { !$0.isProvided(by: store) }
        guard missing.isEmpty, let operated = store as? any OperatedStore else {
            let outcome = Outcome(group: group, missing: missing, skippedParts: [])
            report(outcome)
            return outcome
        }
        let check = Check(group: group)
        try await run(group, on: operated, check)
        let outcome = Outcome(group: group, missing: [], skippedParts: check.skippedParts)
        report(outcome)
        return outcome
    }

    private func run(_ group: Group, on store: any OperatedStore, _ check: Check) async throws {
        switch group {
        case .enqueueAndUniqueKeys: try await enqueueAndUniqueKeys(store, check)
        case .claimAndLease: try await claimAndLease(store, check)
        case .priorities: try await priorities(store, check)
        case .heartbeatAndRescue: try await heartbeatAndRescue(store, check)
        case .rescueOrder: try await rescueOrder(store, check)
        case .fencing: try await fencing(store, check)
        case .finishBatches: try await finishBatches(store, check)
        case .retryAndDeadLetter: try await retryAndDeadLetter(store, check)
        case .requeueAndAudit: try await requeueAndAudit(store, check)
        case .tenancy: try await tenancy(store, check)
        case .cancellation: try await cancellation(store, check)
        case .queries: try await queries(store, check)
        case .concurrencyRaces: try await concurrencyRaces(store, check)
        case .effects: try await effects(store, check)
        case .effectFencing: try await effectFencing(store, check)
        case .effectResolution: try await effectResolution(store, check)
        case .maintenanceLeadership: try await maintenanceLeadership(store, check)
        case .alerts: try await alerts(store, check)
        case .concurrencyLimits: try await concurrencyLimits(store, check)
        case .orderedExecution: try await orderedExecution(store, check)
        case .rateLimits: try await rateLimits(store, check)
        case .fairness: try await fairness(store, check)
        case .loadShedding: try await loadShedding(store, check)
        case .retention: try await retention(store, check)
        case .traceContext: try await traceContext(store, check)
        case .deadLetterFilters: try await deadLetterFilters(store, check)
        case .runningCancellation: try await runningCancellation(store, check)
        case .schedules: try await schedules(store, check)
        case .statistics: try await statistics(store, check)
        case .workflows: try await workflows(store, check)
        case .hostileInput: try await hostileInput(store, check)
        }
    }
}

/// What every group reads and acts through: the runtime contract plus operators' reads and
/// actions (a group's own capability is cast for where it is needed).
typealias OperatedStore = JobInspectionStore & OperatorActionStore
