import Foundation

/// A capability: the store keeps the alert monitor's state, so alerts survive restarts and many
/// nodes share one view of what is firing (table `surety_alerts` in the SQL stores).
///
/// Writes are conditional on the version the writer read (compare-and-set), so when two monitors
/// evaluate the same alert at once only one of them records the change, and only that one
/// notifies the sinks.
public protocol AlertStateStore: JobStore {
    /// Every stored alert state, ordered by key.
    func alertStates() async throws -> [AlertStateRecord]

    /// Stores `record` if the stored version of its key is `expectedVersion` (`nil`: the key must
    /// not exist yet). The stored version becomes `record.version`. Returns whether it was written.
    func saveAlertState(_ record: AlertStateRecord, expectedVersion: Int?) async throws -> Bool

    /// Removes the states whose key is in `keys` and that were last updated before `before`.
    /// Returns how many were removed.
    func deleteAlertStates(_ keys: [String], updatedBefore before: Date) async throws -> Int
}

/// One alert's state as stored: a few columns operators can query, and the full state as JSON.
public struct AlertStateRecord: Sendable, Hashable, Codable {
    /// `rule/subject`, for example `dead-letter/demo.email`.
    public var key: String
    /// `firing` or `resolved`.
    public var status: String
    /// Increases by one on every write.
    public var version: Int
    public var updatedAt: Date
    /// The monitor's state for this key, as JSON (SuretyAlerts' `AlertState`).
    public var body: String

    public init(key: String, status: String, version: Int, updatedAt: Date, body: String) {
        self.key = key
        self.status = status
        self.version = version
        self.updatedAt = updatedAt
        self.body = body
    }
}
