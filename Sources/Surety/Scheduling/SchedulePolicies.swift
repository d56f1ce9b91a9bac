import Foundation

/// What a schedule does when a slot comes while the job of an earlier slot is still active
/// (scheduled, available, running or retrying).
public enum OverlapPolicy: Sendable, Hashable {
    /// Skip the new slot. The default: a slow run is never stacked upon.
    case skip
    /// Enqueue the new slot only if no earlier job is still waiting to start: at most one job
    /// queued behind the running one.
    case queueOne
    /// Always enqueue: runs may overlap.
    case allow

    /// `skip`, `queue_one`, `allow`.
    public var rawValue: String {
        switch self {
        case .skip: "skip"
        case .queueOne: "queue_one"
        case .allow: "allow"
        }
    }

    /// Parses ``rawValue``.
    public init?(rawValue: String) {
        switch rawValue {
        case "skip": self = .skip
        case "queue_one": self = .queueOne
        case "allow": self = .allow
        default: return nil
        }
    }
}

/// What a schedule does with slots that passed while no scheduler ran (every node down, a
/// deploy, a long pause of the process). A slot counts as missed when the scheduler first sees
/// it more than ``Schedule/lateness`` after its time.
public enum MissedRunPolicy: Sendable, Hashable {
    /// Drop missed slots; run only slots seen on time.
    case skip
    /// Run the latest missed slot once, drop the older ones. The default.
    case runLatest
    /// Run every missed slot whose time is within `window` of now, oldest first (at most
    /// ``Scheduler/maximumCatchUp`` per tick); drop older ones.
    case catchUp(within: Duration)

    /// `skip`, `run_latest`, `catch_up:SECONDS`.
    public var rawValue: String {
        switch self {
        case .skip: "skip"
        case .runLatest: "run_latest"
        case .catchUp(let window): "catch_up:\(Int64(window.timeInterval))"
        }
    }

    /// Parses ``rawValue``.
    public init?(rawValue: String) {
        switch rawValue {
        case "skip": self = .skip
        case "run_latest": self = .runLatest
        default:
            guard rawValue.hasPrefix("catch_up:"), let seconds = Int64(rawValue.dropFirst("catch_up:".count)), seconds >= 0 else { return nil }
            self = .catchUp(within: .seconds(seconds))
        }
    }
}
