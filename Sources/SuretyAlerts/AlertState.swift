import Foundation
import Surety

/// The monitor's memory of one alert (one rule and subject), stored through `AlertStateStore`
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
    /// Notices that some sinks failed to take; sent again to those sinks at the next evaluations.
    public var undelivered: [UndeliveredNotice]

    /// A notice that named sinks did not take yet.
    public struct UndeliveredNotice: Sendable, Hashable, Codable {
        public var notice: AlertNotice
        /// `primary` or `escalation`.
        public var audience: String
        /// The sinks (by name) that have not taken it.
        public var sinks: [String]
        /// Deliveries tried so far; given up after ``AlertState/maximumDeliveryAttempts``.
        public var attempts: Int

        public init(notice: AlertNotice, audience: String, sinks: [String], attempts: Int) {
            self.notice = notice
            self.audience = audience
            self.sinks = sinks
            self.attempts = attempts
        }
    }

    /// How many evaluations try a notice that a sink refused before it is given up (and logged).
    public static let maximumDeliveryAttempts = 5

    public init(status: Status, alert: Alert, lastNoticeAt: Date, lastNoticeValue: Double, notices: Int, escalatedAt: Date? = nil) {
        self.status = status
        self.alert = alert
        self.lastNoticeAt = lastNoticeAt
        self.lastNoticeValue = lastNoticeValue
        self.notices = notices
        self.escalatedAt = escalatedAt
        self.undelivered = []
    }

    enum CodingKeys: String, CodingKey { case status, alert, lastNoticeAt, lastNoticeValue, notices, escalatedAt, undelivered }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(Status.self, forKey: .status)
        alert = try c.decode(Alert.self, forKey: .alert)
        lastNoticeAt = try c.decode(Date.self, forKey: .lastNoticeAt)
        lastNoticeValue = try c.decode(Double.self, forKey: .lastNoticeValue)
        notices = try c.decode(Int.self, forKey: .notices)
        escalatedAt = try c.decodeIfPresent(Date.self, forKey: .escalatedAt)
        undelivered = try c.decodeIfPresent([UndeliveredNotice].self, forKey: .undelivered) ?? []
    }

    /// The JSON stored in `AlertStateRecord.body`.
    public func encoded() -> String {
        String(decoding: (try? AlertJSON.encoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Decodes a stored body.
    /// - Throws: `SuretyError.Code.storeCorrupt` when the body is not an alert state.
    public static func decode(_ body: String, key: String) throws -> AlertState {
        do {
            return try AlertJSON.decoder().decode(AlertState.self, from: Data(body.utf8))
        } catch {
            throw SuretyError(.storeCorrupt, "the stored state of alert '\(key)' cannot be read; it was written by a newer Surety or by hand")
        }
    }
}
