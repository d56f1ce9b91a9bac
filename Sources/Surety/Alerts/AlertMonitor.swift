import Foundation
import Logging
import ServiceLifecycle

/// Evaluates the alert rules every ``AlertConfiguration/intervalSeconds`` and sends notices to
/// the sinks: a ServiceLifecycle `Service`, run beside the workers (`surety worker --alerts FILE`).
///
/// Each pass runs under `store.asMaintenanceLeader(of: "alerts")`, so on a store with
/// ``MaintenanceLeadership`` one node evaluates at a time. The state of every alert lives in the
/// store (``AlertStateStore``) and is written with compare-and-set before anyone is notified: a
/// restarted monitor remembers what it already said, and two monitors that race on a store
/// without leadership still send one notice. Time comes from the injected clock.
///
/// A notice is sent after its state is stored: a process that dies between the two loses that
/// notice (the alert stays firing, and escalation still follows). A sink that fails after its
/// own retries is logged at `error`.
public struct AlertMonitor: Service {
    public let configuration: AlertConfiguration
    let store: any JobStore
    let observations: any AlertObservationsStore
    let states: any AlertStateStore
    let sinks: [any AlertSink]
    let escalationSinks: [any AlertSink]
    let evaluator: AlertRuleEvaluator
    let machine: AlertStateMachine
    let clock: any SuretyClock
    let logger: Logger

    /// The name of the maintenance task, for ``MaintenanceLeadership``.
    public static let maintenanceTask = "alerts"

    /// - Parameters:
    ///   - store: a store with ``AlertObservationsStore`` and ``AlertStateStore`` (the memory,
    ///     SQLite and PostgreSQL stores have both).
    ///   - sinks: where notices go (built from ``AlertConfiguration/sinks``).
    ///   - escalationSinks: where escalations go (from ``AlertConfiguration/escalation``).
    ///   - registry: the job types, for their redactors: an error message of a type not in it is
    ///     masked whole.
    ///   - clock: Default: the system clock.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for an invalid configuration or a store
    ///   without the alert capabilities.
    public init(
        store: any JobStore, configuration: AlertConfiguration, sinks: [any AlertSink], escalationSinks: [any AlertSink] = [],
        registry: JobRegistry, clock: any SuretyClock = SystemClock(), logger: Logger = Logger(label: "surety.alerts")
    ) throws {
        try configuration.validate()
        guard let observations = store as? any AlertObservationsStore else {
            throw SuretyError(.invalidArgument, "\(type(of: store)) cannot summarise jobs for alerts (AlertObservationsStore)")
        }
        guard let states = store as? any AlertStateStore else {
            throw SuretyError(.invalidArgument, "\(type(of: store)) cannot keep alert state (AlertStateStore)")
        }
        if configuration.escalation != nil, escalationSinks.isEmpty {
            throw SuretyError(.invalidArgument, "the alert configuration escalates, but no escalation sinks were given")
        }
        self.configuration = configuration
        self.store = store
        self.observations = observations
        self.states = states
        self.sinks = sinks
        self.escalationSinks = escalationSinks
        self.evaluator = AlertRuleEvaluator(environment: configuration.environment) { registry.redactor(for: $0) }
        self.machine = AlertStateMachine(configuration)
        self.clock = clock
        self.logger = logger
    }

    /// Evaluates every interval until cancelled or shut down gracefully. A failing pass (the
    /// store is down) is logged and retried at the next interval.
    public func run() async throws {
        let interval = Duration.interval(configuration.intervalSeconds)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await evaluateOnce()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("alert evaluation failed; retrying at the next interval", metadata: ["error": "\(error)"])
            }
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    /// What one pass did.
    public struct Pass: Sendable {
        /// `false` when another node leads the alerts task (nothing was evaluated here).
        public var led: Bool
        /// The notices this node recorded and sent, with their audience.
        public var deliveries: [AlertStateMachine.Delivery]
        /// Deliveries that failed: sink name, alert key, error.
        public var failures: [String]
    }

    /// Evaluates once now (as leader of the "alerts" task, when the store elects one).
    @discardableResult
    public func evaluateOnce() async throws -> Pass {
        let pass = try await store.asMaintenanceLeader(of: Self.maintenanceTask) { try await self.evaluateAsLeader() }
        return pass ?? Pass(led: false, deliveries: [], failures: [])
    }

    private func evaluateAsLeader() async throws -> Pass {
        let now = clock.now()
        var current: [String: AlertState] = [:]
        var versions: [String: Int] = [:]
        for record in try await states.alertStates() {
            versions[record.key] = record.version
            do {
                current[record.key] = try AlertState.decode(record.body, key: record.key)
            } catch {
                logger.error("unreadable alert state is replaced", metadata: ["alert": "\(record.key)", "error": "\(error)"])
            }
        }
        let rules = configuration.rules
        let observed = try await AlertObservations.gather(from: observations, rules: rules, now: now)
        let findings = evaluator.findings(rules, observed)
        let transitions = machine.step(findings: findings, states: current, evaluatedRules: Set(rules.map(\.name)), now: now)
        var deliveries: [AlertStateMachine.Delivery] = []
        for transition in transitions {
            let record = AlertStateRecord(
                key: transition.key, status: transition.next.status.rawValue, version: (versions[transition.key] ?? 0) + 1,
                updatedAt: now, body: transition.next.encoded()
            )
            if try await states.saveAlertState(record, expectedVersion: versions[transition.key]) {
                deliveries += transition.deliveries
            } else {
                logger.debug("another monitor updated the alert first", metadata: ["alert": "\(transition.key)"])
            }
        }
        let failures = await deliver(deliveries)
        try await forgetResolved(current, now: now)
        return Pass(led: true, deliveries: deliveries, failures: failures)
    }

    /// Sends every delivery to its audience's sinks, concurrently; returns the failures.
    private func deliver(_ deliveries: [AlertStateMachine.Delivery]) async -> [String] {
        guard !deliveries.isEmpty else { return [] }
        let logger = logger
        let sinks = sinks
        let escalationSinks = escalationSinks
        return await withTaskGroup(of: String?.self) { group in
            for delivery in deliveries {
                for sink in delivery.audience == .primary ? sinks : escalationSinks {
                    group.addTask {
                        do {
                            try await sink.deliver(delivery.notice)
                            return nil
                        } catch {
                            logger.error("alert notice not delivered", metadata: [
                                "sink": "\(sink.name)", "alert": "\(delivery.notice.alert.key)",
                                "event": "\(delivery.notice.event.rawValue)", "error": "\(error)",
                            ])
                            return "\(sink.name): \(delivery.notice.alert.key): \(error)"
                        }
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures.sorted()
        }
    }

    private func forgetResolved(_ current: [String: AlertState], now: Date) async throws {
        let cutoff = now.addingTimeInterval(-configuration.keepResolvedSeconds)
        let stale = current.filter { $0.value.status == .resolved && ($0.value.alert.resolvedAt ?? now) < cutoff }.keys.sorted()
        guard !stale.isEmpty else { return }
        _ = try await states.deleteAlertStates(stale, updatedBefore: cutoff)
    }
}
