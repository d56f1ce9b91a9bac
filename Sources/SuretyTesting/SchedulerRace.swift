import Foundation
import Surety

/// Two schedulers on two stores that share one database (two nodes), ticking at the same
/// moments: the check that every cron slot becomes exactly one job. Used by the SQLite and
/// PostgreSQL tests; usable for a store of your own.
public enum SchedulerRace {
    public struct Outcome: Sendable {
        /// The slots that came due, in order.
        public var slots: [Date]
        /// The schedule's jobs, as stored.
        public var jobs: [JobRecord]
    }

    /// Runs `steps` one-second steps of an every-second schedule (its first slot is the second it
    /// was registered) (overlap allowed) on both
    /// stores at once, then one 10-second gap (caught up), and returns what was stored.
    public static func run(_ first: any ScheduleStore & JobInspectionStore, _ second: any ScheduleStore & JobInspectionStore, steps: Int = 30) async throws -> Outcome {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = TestClock(now: start)
        let tenant = try TenantID("race")
        func schedule() throws -> Schedule {
            try Schedule(
                name: "race", cron: try CronExpression("* * * * * *"), timeZone: try Schedule.timeZone("UTC"),
                jobType: "race.tick", payload: "{}", tenant: tenant, overlap: .allow, missed: .catchUp(within: .seconds(60))
            )
        }
        let a = try Scheduler(store: first, schedules: [try schedule()], clock: clock)
        let b = try Scheduler(store: second, schedules: [try schedule()], clock: clock)
        try await a.register()
        try await b.register()
        for step in 0...steps {
            clock.advance(by: .seconds(step == steps ? 10 : 1))
            async let x = a.tick()
            async let y = b.tick()
            _ = try await (x, y)
        }
        let end = clock.now()
        let slots = stride(from: 0, through: Int(end.timeIntervalSince(start)), by: 1).map { start.addingTimeInterval(TimeInterval($0)) }
        let jobs = try await first.jobs(JobFilter(tag: "schedule:race", limit: 10_000))
        return Outcome(slots: slots, jobs: jobs.sorted { $0.runAt < $1.runAt })
    }
}
