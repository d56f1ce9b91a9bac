import Foundation

/// The monitor's memory of one alert (one rule and subject), stored through ``AlertStateStore``
/// so it survives restarts and is shared by every node.
public struct AlertState: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case firing
        case resolved
    }

    public var status: Status
    /// The alert as last observed (redacted, like everything in an alert).
    public var alert: Alert
    /// When the last notice was sent, and the value it reported.
    public var lastNoticeAt: Date
    public var lastNoticeValue: Double
    /// How many notices this incident produced.
    public var notices: Int
    /// When the escalation notice was sent; `nil` if not (yet).
    public var escalatedAt: Date?

    public init(status: Status, alert: Alert, lastNoticeAt: Date, lastNoticeValue: Double, notices: Int, escalatedAt: Date? = nil) {
        self.status = status
        self.alert = alert
        self.lastNoticeAt = lastNoticeAt
        self.lastNoticeValue = lastNoticeValue
        self.notices = notices
        self.escalatedAt = escalatedAt
    }

    /// The JSON stored in ``AlertStateRecord/body``.
    public func encoded() -> String {
        String(decoding: (try? AlertJSON.encoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Decodes a stored body.
    /// - Throws: ``SuretyError/Code/storeCorrupt`` when the body is not an alert state.
    public static func decode(_ body: String, key: String) throws -> AlertState {
        do {
            return try AlertJSON.decoder().decode(AlertState.self, from: Data(body.utf8))
        } catch {
            throw SuretyError(.storeCorrupt, "the stored state of alert '\(key)' cannot be read; it was written by a newer Surety or by hand")
        }
    }
}
