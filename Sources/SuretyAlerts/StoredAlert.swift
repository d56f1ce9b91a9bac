import Foundation
import Surety

/// One alert as the store keeps it: the record's columns and the decoded monitor state. What
/// `surety alerts list` and the dashboard's alerts page show.
public struct StoredAlert: Sendable, Hashable {
    /// `rule/subject`.
    public var key: String
    public var version: Int
    public var updatedAt: Date
    public var state: AlertState

    public init(key: String, version: Int, updatedAt: Date, state: AlertState) {
        self.key = key
        self.version = version
        self.updatedAt = updatedAt
        self.state = state
    }

    public var alert: Alert { state.alert }
    public var isFiring: Bool { state.status == .firing }
    /// The subject the rule groups by: the job type, or the queue for the queue rules.
    public var subject: String { key.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? key }
}

extension AlertStateStore {
    /// The stored alerts: firing ones (with `includeResolved`, resolved ones too), firing first,
    /// then the most recent first, then by key.
    /// - Throws: `SuretyError` `storeCorrupt` when a stored state does not decode.
    public func storedAlerts(includeResolved: Bool = false) async throws -> [StoredAlert] {
        var alerts: [StoredAlert] = []
        for record in try await alertStates() {
            let state = try AlertState.decode(record.body, key: record.key)
            guard includeResolved || state.status == .firing else { continue }
            alerts.append(StoredAlert(key: record.key, version: record.version, updatedAt: record.updatedAt, state: state))
        }
        return alerts.sorted {
            ($0.state.status.rawValue, $1.alert.firingSince, $0.key) < ($1.state.status.rawValue, $0.alert.firingSince, $1.key)
        }
    }
}
