import Foundation
import Surety

extension StoreConformance {
    /// ``JobStatisticsStore``: counts by state, completions and dead letters per bucket, the
    /// window's failed attempts and interpolated latency percentiles, per queue, over every
    /// queue and for one tenant, all exact (no sampling).
    func statistics(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any JobStatisticsStore & OperatedStore else {
            try check.fail("the store does not implement JobStatisticsStore")
        }
        let now = Fixtures.t0.addingTimeInterval(100_000)
        func enqueue(_ queue: String, tenant: TenantID, runAt: Date) async throws -> JobID {
            let job = NewJob(type: "stats.job", queue: queue, priority: 0, tenant: tenant, payload: "{}", runAt: runAt, enqueuedAt: min(runAt, now), maxAttempts: 3)
            return try await store.enqueue([job])[0].id
        }
        func run(_ queue: String, at start: Date, for seconds: Double, outcome: AttemptOutcome = .succeeded, next: NextState = .completed) async throws {
            let claimed = try await Fixtures.claim(store, at: start, limit: 1, queues: [queue])
            try check.that(claimed.count == 1, "one job of \(queue) is due at \(start)")
            let finish = AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "w1", startedAt: start,
                                       endedAt: start.addingTimeInterval(seconds), outcome: outcome,
                                       error: outcome == .succeeded ? nil : Fixtures.boom, next: next)
            try check.that(try await store.finish([finish]) == [.applied], "the attempt finishes")
        }
        // default (acme): ten jobs picked up after 1…10 s that ran 1…10 s, in the last hour.
        var finishedOffsets: [Double] = []
        for index in 0..<10 {
            let runAt = now.addingTimeInterval(-3000 + 100 * Double(index))
            _ = try await enqueue("default", tenant: Fixtures.acme, runAt: runAt)
            let seconds = Double(index + 1)
            try await run("default", at: runAt.addingTimeInterval(seconds), for: seconds)
            finishedOffsets.append(-3000 + 100 * Double(index) + 2 * seconds)
        }
        // An old completion (five hours ago): in the day series only.
        _ = try await enqueue("default", tenant: Fixtures.acme, runAt: now.addingTimeInterval(-18_000))
        try await run("default", at: now.addingTimeInterval(-17_999), for: 1)
        // A running job picked up after 4 s.
        _ = try await enqueue("default", tenant: Fixtures.acme, runAt: now.addingTimeInterval(-64))
        try check.that(try await Fixtures.claim(store, at: now.addingTimeInterval(-60), limit: 1, queues: ["default"]).count == 1, "the running job is claimed")
        // email (globex): one job failing twice into the dead-letter inbox; one available, one scheduled.
        _ = try await enqueue("email", tenant: Fixtures.globex, runAt: now.addingTimeInterval(-1200))
        try await run("email", at: now.addingTimeInterval(-1200), for: 10, outcome: .failed, next: .retry(at: now.addingTimeInterval(-1100)))
        try await run("email", at: now.addingTimeInterval(-1100), for: 5, outcome: .failed, next: .dead(.permanentError))
        _ = try await enqueue("email", tenant: Fixtures.acme, runAt: now.addingTimeInterval(-10))
        _ = try await enqueue("email", tenant: Fixtures.globex, runAt: now.addingTimeInterval(3600))

        let stats = try await store.jobStatistics(JobStatisticsRequest(now: now))
        try check.that(stats.queues.map(\.queue) == ["default", "email"], "one entry per queue by name, got \(stats.queues.map(\.queue))")
        let byName = Dictionary(uniqueKeysWithValues: stats.queues.map { ($0.queue, $0) })
        let defaults = byName["default"]!, email = byName["email"]!
        try check.that(defaults.counts == [.completed: 11, .running: 1], "default's counts by state, got \(defaults.counts)")
        try check.that(email.counts == [.dead: 1, .available: 1, .scheduled: 1] && email.deadLetterSize == 1, "email's counts by state, got \(email.counts)")
        try check.that(stats.all.counts == [.completed: 11, .running: 1, .dead: 1, .available: 1, .scheduled: 1], "all queues' counts add up, got \(stats.all.counts)")
        try check.that((defaults.completedInWindow, defaults.deadInWindow, defaults.failedAttemptsInWindow) == (10, 0, 0),
                       "default's window: 10 completed, got \((defaults.completedInWindow, defaults.deadInWindow, defaults.failedAttemptsInWindow))")
        try check.that((email.completedInWindow, email.deadInWindow, email.failedAttemptsInWindow) == (0, 1, 2),
                       "email's window: 1 dead after 2 failed attempts, got \((email.completedInWindow, email.deadInWindow, email.failedAttemptsInWindow))")
        try check.that((stats.all.completedInWindow, stats.all.deadInWindow, stats.all.failedAttemptsInWindow) == (10, 1, 2), "the window over all queues")

        // Series: bucket i covers [start + i·bucket, start + (i+1)·bucket).
        var hour = Array(repeating: 0, count: 12)
        for offset in finishedOffsets { hour[Int((offset + 3600) / 300)] += 1 }
        var hourDead = Array(repeating: 0, count: 12)
        hourDead[Int((-1095.0 + 3600) / 300)] = 1
        try check.that(defaults.series.count == 2 && defaults.series[0].completed == hour && defaults.series[0].dead == Array(repeating: 0, count: 12),
                       "default's hour series, expected \(hour), got \(defaults.series.first.map(\.completed) ?? [])")
        try check.that(defaults.series[0].start == now.addingTimeInterval(-3600) && defaults.series[0].bucketSeconds == 300, "the hour series' start and bucket")
        var day = Array(repeating: 0, count: 24)
        day[23] = 10
        day[Int((86_400.0 - 17_998) / 3600)] = 1
        try check.that(defaults.series[1].completed == day, "default's day series, expected \(day), got \(defaults.series[1].completed)")
        try check.that(email.series[0].dead == hourDead && email.series[0].completed == Array(repeating: 0, count: 12), "email's dead letter in the hour series, got \(email.series[0].dead)")
        try check.that(stats.all.series[1].completed == day && stats.all.series[1].dead.reduce(0, +) == 1, "the day series over all queues")

        // Percentiles, interpolated between ranks (percentile_cont).
        func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-6 } ?? false }
        func matches(_ value: LatencyPercentiles, _ count: Int, _ p50: Double, _ p95: Double, _ p99: Double, _ max: Double) -> Bool {
            value.count == count && close(value.p50, p50) && close(value.p95, p95) && close(value.p99, p99) && close(value.max, max)
        }
        try check.that(matches(defaults.run, 10, 5.5, 9.55, 9.91, 10), "default's run time percentiles of 1…10 s, got \(defaults.run)")
        try check.that(matches(defaults.pickup, 11, 5, 9.5, 9.9, 10), "default's pickup percentiles (1…10 s and the running job's 4 s), got \(defaults.pickup)")
        try check.that(matches(email.pickup, 1, 0, 0, 0, 0) && email.run.count == 0 && email.run.p50 == nil, "email's pickup (its retry started on time), got \(email.pickup) \(email.run)")
        try check.that(matches(stats.all.pickup, 12, 4.5, 9.45, 9.89, 10), "pickup percentiles over every queue (not an average of queues), got \(stats.all.pickup)")
        try check.that(matches(stats.all.run, 10, 5.5, 9.55, 9.91, 10), "run percentiles over every queue, got \(stats.all.run)")

        // One tenant.
        let globex = try await store.jobStatistics(JobStatisticsRequest(now: now, tenant: Fixtures.globex))
        try check.that(globex.queues.map(\.queue) == ["email"], "a tenant sees its own queues, got \(globex.queues.map(\.queue))")
        try check.that(globex.all.counts == [.dead: 1, .scheduled: 1] && globex.all.failedAttemptsInWindow == 2 && globex.all.run.count == 0,
                       "a tenant's counts and window, got \(globex.all.counts) \(globex.all.failedAttemptsInWindow)")
        let empty = try await store.jobStatistics(JobStatisticsRequest(now: now, tenant: try TenantID("initech")))
        try check.that(empty.queues.isEmpty && empty.all.counts.isEmpty && empty.all.pickup == .empty && empty.all.series.count == 2,
                       "a tenant without jobs gets empty figures")
    }
}
