import Foundation

/// A cron expression: 5 fields (`minute hour day-of-month month day-of-week`) or 6 with seconds
/// first (`second minute hour day-of-month month day-of-week`), or a macro (`@yearly`,
/// `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`).
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, and lists of
/// these separated by commas. Months take `JAN`...`DEC`, days of the week `SUN`...`SAT`
/// (0 and 7 are both Sunday), case-insensitive. As in classic cron, when both day-of-month and
/// day-of-week are restricted, a day matches if either matches.
///
/// Next-run times are computed on the wall clock of a time zone (``next(after:in:)``); see
/// docs/scheduling.md for what happens on daylight-saving days.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text it was parsed from.
    public let text: String
    /// Whether the expression has a seconds field.
    public let hasSeconds: Bool
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool
    let sortedSeconds: [Int]
    let sortedMinutes: [Int]
    let sortedHours: [Int]

    public var description: String { text }

    /// Parses `text`.
    /// - Throws: ``SuretyError/Code/invalidArgument`` naming the field and the problem.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let macros = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
        ]
        let expanded = trimmed.hasPrefix("@") ? macros[trimmed.lowercased()] : trimmed
        guard let expanded else {
            throw SuretyError(.invalidArgument, "cron expression '\(trimmed)': unknown macro; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
        }
        var fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw SuretyError(.invalidArgument, "cron expression '\(trimmed)' has \(fields.count) fields; expected 5 (minute hour day month weekday) or 6 (second first)")
        }
        hasSeconds = fields.count == 6
        if !hasSeconds { fields.insert("0", at: 0) }
        self.text = trimmed
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        seconds = try Self.field(fields[0], name: "second", range: 0...59, expression: trimmed)
        minutes = try Self.field(fields[1], name: "minute", range: 0...59, expression: trimmed)
        hours = try Self.field(fields[2], name: "hour", range: 0...23, expression: trimmed)
        daysOfMonth = try Self.field(fields[3], name: "day of month", range: 1...31, expression: trimmed)
        months = try Self.field(fields[4], name: "month", range: 1...12, names: monthNames, nameBase: 1, expression: trimmed)
        let weekdays = try Self.field(fields[5], name: "day of week", range: 0...7, names: dayNames, nameBase: 0, expression: trimmed)
        daysOfWeek = Set(weekdays.map { $0 == 7 ? 0 : $0 })
        dayOfMonthRestricted = !fields[3].hasPrefix("*") && fields[3] != "?"
        dayOfWeekRestricted = !fields[5].hasPrefix("*") && fields[5] != "?"
        sortedSeconds = seconds.sorted()
        sortedMinutes = minutes.sorted()
        sortedHours = hours.sorted()
    }

    private static func field(
        _ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0, expression: String
    ) throws -> Set<Int> {
        func fail(_ problem: String) -> SuretyError {
            SuretyError(.invalidArgument, "cron expression '\(expression)': \(name) field '\(text)': \(problem)")
        }
        func value(_ token: String) throws -> Int {
            if let number = Int(token) {
                guard range.contains(number) else { throw fail("\(number) is outside \(range.lowerBound)-\(range.upperBound)") }
                return number
            }
            if let index = names.firstIndex(of: token.lowercased()) { return index + nameBase }
            throw fail("'\(token)' is not a number\(names.isEmpty ? "" : " or a name")")
        }
        var result: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !part.isEmpty else { throw fail("empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw fail("more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed >= 1 else { throw fail("step '\(pieces[1])' must be a positive number") }
                step = parsed
            }
            let base = pieces[0]
            var lower: Int, upper: Int
            if base == "*" || base == "?" {
                lower = range.lowerBound
                upper = range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(String(base[..<dash]))
                upper = try value(String(base[base.index(after: dash)...]))
                guard lower <= upper else { throw fail("range \(base) runs backwards") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }

    // MARK: Next runs

    /// The first slot strictly after `date`, on the wall clock of `timeZone`, or `nil` when the
    /// expression never matches (for example February 30) within the next 30 years.
    ///
    /// Daylight-saving rules: a slot whose local time does not exist (the skipped hour of a
    /// spring-forward day) runs at the instant the clocks jump, once (several skipped slots, and
    /// a slot at the first valid time after the jump, merge into that one instant). A local
    /// time that occurs twice (the repeated hour of a fall-back day) runs once, at its first
    /// occurrence.
    public func next(after date: Date, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Date? {
        let after = Int64(date.timeIntervalSince1970.rounded(.down))
        let afterLocal = after + Int64(timeZone.secondsFromGMT(for: date))
        var day = Self.floorDiv(afterLocal, 86_400)
        // Slots up to three hours of local time before `after` may still map after it near a
        // transition; earlier ones cannot.
        let earliestLocal = afterLocal - 3 * 3600
        for _ in 0..<(366 * 30) {
            defer { day += 1 }
            let (_, month, dayOfMonth) = Self.civil(fromDays: day)
            guard months.contains(month), matchesDay(dayOfMonth: dayOfMonth, weekday: Self.weekday(days: day)) else { continue }
            let dayStart = day * 86_400
            for hour in sortedHours {
                let hourStart = dayStart + Int64(hour) * 3600
                if hourStart + 3599 < earliestLocal { continue }
                for minute in sortedMinutes {
                    let minuteStart = hourStart + Int64(minute) * 60
                    if minuteStart + 59 < earliestLocal { continue }
                    for second in sortedSeconds {
                        let local = minuteStart + Int64(second)
                        if local < earliestLocal { continue }
                        let instant = Self.instant(local: local, in: timeZone)
                        if instant > after { return Date(timeIntervalSince1970: TimeInterval(instant)) }
                    }
                }
            }
        }
        return nil
    }

    /// The next `count` slots after `date`.
    public func nextRuns(after date: Date, count: Int, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> [Date] {
        var runs: [Date] = []
        var cursor = date
        while runs.count < count, let next = next(after: cursor, in: timeZone) {
            runs.append(next)
            cursor = next
        }
        return runs
    }

    func matchesDay(dayOfMonth: Int, weekday: Int) -> Bool {
        let domMatch = daysOfMonth.contains(dayOfMonth)
        let dowMatch = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return domMatch || dowMatch }
        return domMatch && dowMatch
    }

    /// The instant (seconds since 1970 UTC) of a local wall-clock time: its first occurrence, or
    /// for a time inside a gap, the instant the gap begins (when the clocks jump).
    static func instant(local: Int64, in timeZone: TimeZone) -> Int64 {
        func offset(_ instant: Int64) -> Int64 {
            Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
        }
        let early = offset(local - 86_400), late = offset(local + 86_400)
        let candidates = [local - early, local - late].filter { offset($0) == local - $0 }
        if let first = candidates.min() { return first }
        // A gap: the offset changes between the two candidates; find the first instant with the
        // new offset.
        var low = min(local - early, local - late), high = max(local - early, local - late)
        let before = offset(low)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(middle) == before { low = middle } else { high = middle }
        }
        return high
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// 0 = Sunday. 1970-01-01 was a Thursday.
    static func weekday(days: Int64) -> Int { Int(((days % 7) + 11) % 7) }

    /// The proleptic Gregorian date of a day number (days since 1970-01-01).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
