import Foundation

/// How times and durations read in the views: the JSON conventions of docs/cli.md.
public enum ViewTime {
    /// ISO 8601 in UTC with milliseconds: `2026-11-23T09:06:45.272Z`.
    public static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Seconds rounded to milliseconds; `nil` for no value or one that is not finite.
    public static func seconds(_ value: TimeInterval?) -> Double? {
        guard let value, value.isFinite else { return nil }
        return (value * 1000).rounded() / 1000
    }
}

extension KeyedEncodingContainer {
    /// Encodes `date` as ``ViewTime/string(_:)``, or `null`: documented keys are never absent.
    mutating func encodeTime(_ date: Date?, forKey key: Key) throws {
        try encode(date.map(ViewTime.string), forKey: key)
    }
}
