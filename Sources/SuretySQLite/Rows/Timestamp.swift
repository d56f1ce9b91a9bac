import Foundation

/// Times in the store are INTEGER microseconds since 1970-01-01 00:00:00 UTC.
///
/// The conversion goes through the reference date (2001) in integers, so a `Date` that carries
/// at most microsecond precision comes back as exactly the same `Date`.
enum Timestamp {
    /// 1970 → 2001 in microseconds.
    private static let referenceOffset: Int64 = 978_307_200_000_000
    /// Bounds well inside Int64, so extreme dates (`.distantFuture`) clamp instead of trapping.
    private static let limit: Double = 4.0e18

    static func micros(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        guard value.isFinite else { return value < 0 ? -Int64(limit) : Int64(limit) }
        return Int64(min(max(value, -limit), limit)) + referenceOffset
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSinceReferenceDate: Double(micros - referenceOffset) / 1_000_000)
    }

    static func dateIfPresent(_ micros: Int64?) -> Date? {
        micros.map(date)
    }
}
