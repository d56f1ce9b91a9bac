import Foundation
import Logging
import ServiceLifecycle
import Surety

/// Evaluates the alert rules every ``AlertConfiguration/intervalSeconds`` and sends notices to
/// the sinks: a ServiceLifecycle `Service`, run beside the workers (`surety worker --alerts FILE`).
///
/// Each pass runs under `store.asMaintenanceLeader(of: "alerts")`, so on a store with
/// `MaintenanceLeadershipStore` one node evaluates at a time. The state of every alert lives in the
/// store (`AlertStateStore`) and is written with compare-and-set before anyone is notified: a
/// restarted monitor remembers what it already said, and two monitors that race on a store
/// without leadership still send one notice. Time comes from the injected clock.
///
/// A notice is sent after its state is stored: a process that dies between the two loses that
/// notice (the alert stays firing, and escalation still follows). A sink that fails after its
/// own retries is logged at `error`, and the notice is kept in the alert's state and sent again,
/// to that sink only, at the next evaluations (up to ``AlertState/maximumDeliveryAttempts``).
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

    /// The name of the maintenance task, for `MaintenanceLeadershipStore`.
    public static let maintenanceTask = "alerts"

    /// - Parameters:
    ///   - store: a store with `AlertObservationsStore` and `AlertStateStore` (the memory,
    ///     SQLite and PostgreSQL stores have both).
    ///   - configuration: the rules and their settings.
    ///   - sinks: where notices go (built from ``AlertConfiguration/sinks``).
    ///   - escalationSinks: where escalations go (from ``AlertConfiguration/escalation``).
    ///   - registry: the job types, for their redactors: an error message of a type not in it is
    ///     masked whole.
    ///   - clock: Default: the system clock.
    ///   - logger: Default: a logger labelled `surety.alerts`.
    /// - Throws: `SuretyError.Code.invalidArgument` for an invalid configuration or a store
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

    /// Evaluates at once, then every interval, until cancelled or shut down gracefully (which
    /// ends the wait between passes at once). A failing pass (the store is down) is logged and
    /// retried at the next interval.
    public func run() async throws {
        let interval = Duration.interval(configuration.intervalSeconds)
        logger.info("alert monitor started", metadata: [
            "environment": "\(configuration.environment)", "rules": "\(configuration.rules.map(\.name).joined(separator: ","))",
            "interval_seconds": "\(configuration.intervalSeconds)", "sinks": "\(sinks.map(\.name).joined(separator: ","))",
        ])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await evaluateOnce()
            } catch is CancellationError {
                break
            } catch {
                logger.warning("alert evaluation failed; retrying at the next interval", metadata: ["error": "\(error)"])
            }
            // A graceful shutdown ends the wait at once; a pass in progress is left to finish.
            let clock = clock
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) } } catch { break }
        }
        // Another node takes the evaluation over at its next pass.
        await store.resignMaintenanceLeadership(of: Self.maintenanceTask)
    }

    /// What one pass did.
    public struct Pass: Sendable {
        /// `false` when another node leads the alerts task (nothing was evaluated here).
        public var led: Bool
        /// The notices this node recorded and sent, with their audience.
        public var deliveries: [AlertStateMachine.Delivery]
        /// Deliveries that failed (`sinks: key event`); they are tried again at the next passes.
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
        // Each key's new state and what to send: the transition's notices, and notices that
        // sinks refused at earlier evaluations (to those sinks only).
        var changes: [String: (next: AlertState, sends: [Send])] = [:]
        for transition in transitions {
            var next = transition.next
            let retries = next.undelivered.map(Send.init(retrying:))
            next.undelivered = []
            changes[transition.key] = (next, transition.deliveries.map { Send(delivery: $0, sinks: nil, attempts: 0) } + retries)
        }
        for (key, state) in current where changes[key] == nil && !state.undelivered.isEmpty {
            var next = state
            next.undelivered = []
            changes[key] = (next, state.undelivered.map(Send.init(retrying:)))
        }
        var deliveries: [AlertStateMachine.Delivery] = []
        var failures: [String] = []
        for key in changes.keys.sorted() {
            guard let change = changes[key] else { continue }
            let version = (versions[key] ?? 0) + 1
            let record = AlertStateRecord(key: key, status: change.next.status.rawValue, version: version, updatedAt: now, body: change.next.encoded())
            guard try await states.saveAlertState(record, expectedVersion: versions[key]) else {
                logger.debug("another monitor updated the alert first", metadata: ["alert": "\(key)"])
                continue
            }
            deliveries += change.sends.filter { $0.attempts == 0 }.map(\.delivery)
            let refused = await deliver(change.sends)
            failures += refused.map { "\($0.sinks.joined(separator: ",")): \(key) \($0.notice.event.rawValue)" }
            guard !refused.isEmpty else { continue }
            // Remember what the sinks refused, so the next evaluation tries again.
            var retry = change.next
            retry.undelivered = refused.filter { $0.attempts < AlertState.maximumDeliveryAttempts }
            for dropped in refused where dropped.attempts >= AlertState.maximumDeliveryAttempts {
                logger.error("alert notice given up after repeated delivery failures", metadata: [
                    "alert": "\(key)", "event": "\(dropped.notice.event.rawValue)", "sinks": "\(dropped.sinks.joined(separator: ","))",
                ])
            }
            guard !retry.undelivered.isEmpty else { continue }
            let again = AlertStateRecord(key: key, status: retry.status.rawValue, version: version + 1, updatedAt: now, body: retry.encoded())
            _ = try await states.saveAlertState(again, expectedVersion: version)
        }
        try await forgetResolved(current, now: now)
        return Pass(led: true, deliveries: deliveries, failures: failures.sorted())
    }

    /// A notice to send to its audience's sinks (`sinks`: only those, by name).
    struct Send: Sendable {
        var delivery: AlertStateMachine.Delivery
        var sinks: [String]?
        var attempts: Int

        init(delivery: AlertStateMachine.Delivery, sinks: [String]?, attempts: Int) {
            self.delivery = delivery
            self.sinks = sinks
            self.attempts = attempts
        }

        init(retrying undelivered: AlertState.UndeliveredNotice) {
            let audience = AlertStateMachine.Audience(rawValue: undelivered.audience) ?? .primary
            self.init(delivery: .init(notice: undelivered.notice, audience: audience), sinks: undelivered.sinks, attempts: undelivered.attempts)
        }
    }

    /// Sends every notice to its audience's sinks, concurrently; returns what was refused, per
    /// notice, with the sinks that refused it.
    private func deliver(_ sends: [Send]) async -> [AlertState.UndeliveredNotice] {
        guard !sends.isEmpty else { return [] }
        let logger = logger
        let sinks = sinks
        let escalationSinks = escalationSinks
        let refusals = await withTaskGroup(of: (Int, String)?.self) { group in
            for (index, send) in sends.enumerated() {
                let audience = send.delivery.audience == .primary ? sinks : escalationSinks
                for sink in audience where send.sinks.map({ $0.contains(sink.name) }) ?? true {
                    group.addTask {
                        do {
                            try await sink.deliver(send.delivery.notice)
                            return nil
                        } catch {
                            logger.error("alert notice not delivered; it is tried again at the next evaluation", metadata: [
                                "sink": "\(sink.name)", "alert": "\(send.delivery.notice.alert.key)",
                                "event": "\(send.delivery.notice.event.rawValue)", "error": "\(error)",
                            ])
                            return (index, sink.name)
                        }
                    }
                }
            }
            var refusals: [(Int, String)] = []
            for await refusal in group { if let refusal { refusals.append(refusal) } }
            return refusals
        }
        return Dictionary(grouping: refusals, by: \.0).sorted { $0.key < $1.key }.map { index, refused in
            let send = sends[index]
            return AlertState.UndeliveredNotice(notice: send.delivery.notice, audience: send.delivery.audience.rawValue,
                                                sinks: refused.map(\.1).sorted(), attempts: send.attempts + 1)
        }
    }

    private func forgetResolved(_ current: [String: AlertState], now: Date) async throws {
        let cutoff = now.addingTimeInterval(-configuration.keepResolvedSeconds)
        let stale = current.filter { $0.value.status == .resolved && ($0.value.alert.resolvedAt ?? now) < cutoff }.keys.sorted()
        guard !stale.isEmpty else { return }
        _ = try await states.deleteAlertStates(stale, updatedBefore: cutoff)
    }
}
