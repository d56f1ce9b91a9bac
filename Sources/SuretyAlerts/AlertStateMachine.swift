import Foundation
import Surety

/// The alert lifecycle as a pure value: findings and the previous states in, new states and the
/// notices to send out. No clock, no store, no I/O: ``AlertMonitor`` is the thin shell around it.
///
/// ```
///            condition holds                 condition clears
///  (none) ─────────────────────► firing ─────────────────────► resolved
///                 notice: firing   │ ▲  worse: notice worsened    │
///                                  │ │  (×factor in cooldown,     │ holds again:
///                                  └─┘   any increase after it)   │ notice firing
///                  still firing after escalation delay:           ▼
///                  notice escalated (once, to escalation sinks)  firing
/// ```
public struct AlertStateMachine: Sendable, Hashable {
    /// See ``AlertConfiguration/cooldownSeconds``.
    public var cooldown: TimeInterval
    /// See ``AlertConfiguration/worseningFactor``.
    public var worseningFactor: Double
    /// Seconds after an alert begins when it escalates; `nil`: never.
    public var escalationDelay: TimeInterval?

    public init(cooldown: TimeInterval, worseningFactor: Double, escalationDelay: TimeInterval?) {
        self.cooldown = cooldown
        self.worseningFactor = worseningFactor
        self.escalationDelay = escalationDelay
    }

    public init(_ configuration: AlertConfiguration) {
        self.init(cooldown: configuration.cooldownSeconds, worseningFactor: configuration.worseningFactor,
                  escalationDelay: configuration.escalation?.afterSeconds)
    }

    /// Where a notice goes.
    public enum Audience: String, Sendable, Hashable {
        /// The configured sinks.
        case primary
        /// The escalation sinks.
        case escalation
    }

    /// One notice for one audience.
    public struct Delivery: Sendable, Hashable {
        public var notice: AlertNotice
        public var audience: Audience
    }

    /// A change of one alert's state.
    public struct Transition: Sendable, Hashable {
        public var key: String
        public var next: AlertState
        /// Sent only if the new state is stored (another node may have stored its own first).
        public var deliveries: [Delivery]
    }

    /// The transitions for every key with a finding, and every firing key of `evaluatedRules`
    /// whose finding is gone. Keys of rules that are not evaluated stay untouched.
    public func step(findings: [String: AlertFinding], states: [String: AlertState], evaluatedRules: Set<String>, now: Date) -> [Transition] {
        var transitions: [Transition] = []
        for key in Set(findings.keys).union(states.keys).sorted() {
            if let finding = findings[key] {
                transitions.append(holds(finding, previous: states[key], now: now))
            } else if let previous = states[key], previous.status == .firing, evaluatedRules.contains(previous.alert.rule) {
                transitions.append(cleared(previous, key: key, now: now))
            }
        }
        return transitions
    }

    private func holds(_ finding: AlertFinding, previous: AlertState?, now: Date) -> Transition {
        var alert = finding.alert
        guard let previous, previous.status == .firing else {
            // A new incident: notify.
            alert.firingSince = now
            let state = AlertState(status: .firing, alert: alert, lastNoticeAt: now, lastNoticeValue: alert.value, notices: 1)
            return Transition(key: finding.key, next: state, deliveries: [Delivery(notice: AlertNotice(event: .firing, sentAt: now, alert: alert), audience: .primary)])
        }
        alert.firingSince = previous.alert.firingSince
        if let earlier = previous.alert.firstFailureAt {
            alert.firstFailureAt = min(earlier, alert.firstFailureAt ?? earlier)
        }
        var state = previous
        state.alert = alert
        var deliveries: [Delivery] = []
        let sinceNotice = now.timeIntervalSince(previous.lastNoticeAt)
        let muchWorse = alert.value >= previous.lastNoticeValue * worseningFactor
        let worseAfterCooldown = sinceNotice >= cooldown && alert.value > previous.lastNoticeValue
        if muchWorse || worseAfterCooldown {
            state.lastNoticeAt = now
            state.lastNoticeValue = alert.value
            state.notices += 1
            deliveries.append(Delivery(notice: AlertNotice(event: .worsened, sentAt: now, alert: alert), audience: .primary))
        }
        if let delay = escalationDelay, previous.escalatedAt == nil, now.timeIntervalSince(alert.firingSince) >= delay {
            state.escalatedAt = now
            state.notices += 1
            deliveries.append(Delivery(notice: AlertNotice(event: .escalated, sentAt: now, alert: alert), audience: .escalation))
        }
        return Transition(key: finding.key, next: state, deliveries: deliveries)
    }

    private func cleared(_ previous: AlertState, key: String, now: Date) -> Transition {
        var state = previous
        state.status = .resolved
        state.alert.resolvedAt = now
        state.alert.observedAt = now
        let lasted = AlertRuleEvaluator.describe(seconds: now.timeIntervalSince(previous.alert.firingSince))
        state.alert.summary = "cleared after \(lasted): \(previous.alert.summary)"
        state.alert.whatToDo = "Nothing to do now. Confirm recovery: it should stay quiet for a full retry window."
        state.lastNoticeAt = now
        state.notices += 1
        let notice = AlertNotice(event: .resolved, sentAt: now, alert: state.alert)
        var deliveries = [Delivery(notice: notice, audience: .primary)]
        if previous.escalatedAt != nil { deliveries.append(Delivery(notice: notice, audience: .escalation)) }
        return Transition(key: key, next: state, deliveries: deliveries)
    }
}
