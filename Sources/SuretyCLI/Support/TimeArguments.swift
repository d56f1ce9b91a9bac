import ArgumentParser
import Foundation

/// Durations (`90s`, `15m`, `24h`, `30d`) and times (ISO 8601, or a duration meaning "that long
/// ago") on the command line.
enum TimeArguments {
    /// The longest duration any command-line option accepts: `Duration.maximumInterval`,
    /// 100 years (36525d, 3155760000 s). Longer values are refused with a usage error rather
    /// than silently shortened.
    static let maximumSeconds = Duration.maximumInterval.timeInterval

    /// Parses `<number><unit>` with unit s, m, h or d (for example `36h`, `1.5d`), from 0 to
    /// 36525d (100 years).
    static func duration(_ text: String, option: String) throws -> Duration {
        guard let seconds = seconds(in: text) else {
            throw ValidationError("\(option) expects a duration such as 90s, 15m, 24h or 30d, got '\(text)'")
        }
        return try bounded(seconds, text: text, option: option)
    }

    /// The seconds `<number><unit>` stands for, or `nil` when it is not of that form.
    private static func seconds(in text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = trimmed.last, let scale = units[unit], let value = Double(trimmed.dropLast()), value >= 0, value.isFinite else {
            return nil
        }
        return value * scale
    }

    private static func bounded(_ seconds: Double, text: String, option: String) throws -> Duration {
        guard seconds <= maximumSeconds else {
            throw ValidationError("\(option) must be between 0s and 36525d (100 years), got '\(text)'")
        }
        return .interval(seconds)
    }

    /// A number of seconds given with a flag such as `--lease-seconds`, from `minimum` to
    /// ``maximumSeconds`` (100 years).
    /// - Throws: `ValidationError` naming the flag and the range (also for NaN and infinity).
    static func seconds(_ value: Double, option: String, minimum: Double) throws -> Duration {
        guard value >= minimum, value <= maximumSeconds else {
            throw ValidationError("\(option) must be between \(format(minimum)) and \(format(maximumSeconds)) seconds (100 years), got \(format(value))")
        }
        return .interval(value)
    }

    /// `30`, `0.1`, `1e+300`: a whole number without a decimal point when it is one.
    private static func format(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e18 ? String(Int64(value)) : String(value)
    }

    /// A retention age: a duration, or `forever` (never pruned).
    static func age(_ text: String, option: String) throws -> Duration? {
        if text.lowercased() == "forever" { return nil }
        return try duration(text, option: option)
    }

    /// An ISO 8601 time (`2030-01-31T09:00:00Z`), or a duration (at most 36525d) meaning that
    /// long before `now`.
    static func time(_ text: String, option: String, now: Date) throws -> Date {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        guard let seconds = seconds(in: text) else {
            throw ValidationError("\(option) expects an ISO 8601 time such as 2030-01-31T09:00:00Z or an age such as 2h (two hours ago), got '\(text)'")
        }
        return now.addingTimeInterval(-(try bounded(seconds, text: text, option: option)).timeInterval)
    }

    /// `36h`, `7d`, `90s`: the largest whole unit, for messages.
    static func describe(_ duration: Duration?) -> String {
        guard let duration else { return "forever" }
        let seconds = duration.timeInterval
        for (unit, scale) in [("d", 86_400.0), ("h", 3600.0), ("m", 60.0)] where seconds >= scale && seconds.truncatingRemainder(dividingBy: scale) == 0 {
            return "\(Int(seconds / scale))\(unit)"
        }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}

/// `--release-rate N/s` (or `N/m`): how fast requeued jobs become claimable.
struct ReleaseRate: Sendable, Hashable {
    /// Jobs per second.
    var perSecond: Double

    init(perSecond: Double) { self.perSecond = perSecond }

    init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "/", maxSplits: 1).map(String.init)
        let scale: Double
        switch parts.count == 2 ? parts[1] : "s" {
        case "s", "sec", "second": scale = 1
        case "m", "min", "minute": scale = 1.0 / 60
        default: throw ValidationError("--release-rate expects N/s or N/m (for example 10/s), got '\(text)'")
        }
        guard let count = Double(parts[0]), count > 0, count.isFinite else {
            throw ValidationError("--release-rate expects a positive number of jobs, as in 10/s, got '\(text)'")
        }
        perSecond = count * scale
    }

    /// When the `index`-th job (0-based) of a requeue started at `start` becomes claimable.
    func releaseTime(of index: Int, from start: Date) -> Date {
        start.addingTimeInterval(Double(index) / perSecond)
    }
}
