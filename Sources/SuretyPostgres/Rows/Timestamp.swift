import Foundation

/// Times in the store are BIGINT microseconds since 1970-01-01 00:00:00 UTC, as in the SQLite
/// store: exact round trips of the runtime's `Date`s, cheap comparisons, and one format for both
/// stores (`to_timestamp(run_at / 1e6)` shows one as a date).
enum Timestamp {
    /// 1970 → 2001 in microseconds.
    private static let referenceOffset: Int64 = 978_307_200_000_000
    /// Bounds well inside Int64, so extreme dates (`.distantFuture`) clamp instead of trapping.
    private static let limit: Double = 4.0e18

    /// Stands for NULL in arrays of times handed to `unnest` (postgres-nio has no arrays of
    /// optionals); never the value of a real time (those are clamped to ±4e18).
    static let none: Int64 = .min

    static func micros(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        guard value.isFinite else { return value < 0 ? -Int64(limit) : Int64(limit) }
        return Int64(min(max(value, -limit), limit)) + referenceOffset
    }

    static func micros(_ date: Date?) -> Int64 {
        date.map { micros($0) } ?? none
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSinceReferenceDate: Double(micros - referenceOffset) / 1_000_000)
    }

    static func dateIfPresent(_ micros: Int64?) -> Date? {
        micros.map(date)
    }
}
