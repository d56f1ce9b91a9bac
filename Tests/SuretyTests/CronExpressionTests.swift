import Foundation
import Surety
import Testing

@Suite("Cron expressions and next runs in time zones")
struct CronExpressionTests {
    let utc = TimeZone(identifier: "UTC")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    let newYork = TimeZone(identifier: "America/New_York")!

    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test("fields: values, ranges, steps, lists, names, macros, seconds")
    func fields() throws {
        let start = date("2026-01-01T00:00:00Z") // a Thursday
        #expect(try CronExpression("*/15 * * * *").nextRuns(after: start, count: 3, in: utc) == [
            date("2026-01-01T00:15:00Z"), date("2026-01-01T00:30:00Z"), date("2026-01-01T00:45:00Z"),
        ])
        #expect(try CronExpression("0 9-17/4 * * MON-FRI").nextRuns(after: start, count: 4, in: utc) == [
            date("2026-01-01T09:00:00Z"), date("2026-01-01T13:00:00Z"), date("2026-01-01T17:00:00Z"), date("2026-01-02T09:00:00Z"),
        ])
        #expect(try CronExpression("0 0 1,15 feb *").next(after: start, in: utc) == date("2026-02-01T00:00:00Z"))
        #expect(try CronExpression("@hourly").next(after: start, in: utc) == date("2026-01-01T01:00:00Z"))
        #expect(try CronExpression("@weekly").next(after: start, in: utc) == date("2026-01-04T00:00:00Z"), "Sunday")
        #expect(try CronExpression("0 0 * * 7").next(after: start, in: utc) == date("2026-01-04T00:00:00Z"), "7 is Sunday too")
        #expect(try CronExpression("*/20 * * * * *").nextRuns(after: start, count: 3, in: utc) == [
            date("2026-01-01T00:00:20Z"), date("2026-01-01T00:00:40Z"), date("2026-01-01T00:01:00Z"),
        ])
        // Day of month OR day of week when both are restricted (classic cron).
        #expect(try CronExpression("0 0 13 * FRI").nextRuns(after: start, count: 2, in: utc) == [
            date("2026-01-02T00:00:00Z"), date("2026-01-09T00:00:00Z"),
        ])
        #expect(try CronExpression("0 0 29 2 *").next(after: start, in: utc) == date("2028-02-29T00:00:00Z"))
        #expect(try CronExpression("0 0 30 2 *").next(after: start, in: utc) == nil, "February 30 never comes")
    }

    @Test("bad expressions get errors that name the field", arguments: [
        ("* * * *", "4 fields"), ("61 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"), ("* * * * FUNDAY", "day of week"), ("*/0 * * * *", "step"), ("5-1 * * * *", "backwards"),
        ("@fortnightly", "macro"), ("1,,2 * * * *", "empty"),
    ])
    func badExpressions(text: String, mention: String) {
        #expect {
            try CronExpression(text)
        } throws: { error in
            guard let error = error as? SuretyError else { return false }
            return error.code == .invalidArgument && error.message.contains(mention)
        }
    }

    @Test("Europe/Berlin spring forward: 02:30 does not exist on 2026-03-29 and runs when the clocks jump")
    func berlinSpringForward() throws {
        let cron = try CronExpression("30 2 * * *")
        #expect(cron.nextRuns(after: date("2026-03-28T12:00:00Z"), count: 2, in: berlin) == [
            date("2026-03-29T01:00:00Z"), // 03:00 CEST, the moment 02:00 CET became 03:00 CEST
            date("2026-03-30T00:30:00Z"), // 02:30 CEST
        ])
    }

    @Test("Europe/Berlin fall back: 02:30 occurs twice on 2026-10-25 and runs once, at the first")
    func berlinFallBack() throws {
        let cron = try CronExpression("30 2 * * *")
        #expect(cron.nextRuns(after: date("2026-10-24T12:00:00Z"), count: 2, in: berlin) == [
            date("2026-10-25T00:30:00Z"), // 02:30 CEST
            date("2026-10-26T01:30:00Z"), // 02:30 CET the next day; the second 02:30 CET of the 25th is not run
        ])
    }

    @Test("America/New_York hourly across both transitions: the skipped hour merges, the repeated hour runs once")
    func newYorkHourly() throws {
        let cron = try CronExpression("0 * * * *")
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
        #expect(cron.nextRuns(after: date("2026-03-08T05:30:00Z"), count: 3, in: newYork) == [
            date("2026-03-08T06:00:00Z"), // 01:00 EST
            date("2026-03-08T07:00:00Z"), // 02:00 (skipped) and 03:00 EDT are the same instant
            date("2026-03-08T08:00:00Z"), // 04:00 EDT
        ])
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00Z; 01:00 local occurs twice.
        #expect(cron.nextRuns(after: date("2026-11-01T04:30:00Z"), count: 3, in: newYork) == [
            date("2026-11-01T05:00:00Z"), // 01:00 EDT
            date("2026-11-01T07:00:00Z"), // 02:00 EST (01:00 EST, the repeat, is not run)
            date("2026-11-01T08:00:00Z"),
        ])
    }
}
