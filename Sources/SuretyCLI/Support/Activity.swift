import Foundation
import Surety
import SuretyViews

/// What finished in a recent window, read from the jobs table (completed and dead jobs whose
/// `finished_at` falls in the window): throughput, failure rate, retries and latency
/// percentiles, overall and per type. Shared by `surety stats` and `surety top`.
struct Activity {
    var window: TimeInterval
    var now: Date
    var completed: [JobRecord] = []
    var dead: [JobRecord] = []
    /// Whether a sample hit its limit (the figures then cover the most recent jobs only).
    var capped = false

    static func load(_ store: any CommandStore, window: TimeInterval, now: Date, limit: Int = 10_000) async throws -> Activity {
        var activity = Activity(window: window, now: now)
        for state in [JobState.completed, .dead] {
            var filter = JobFilter(states: [state], limit: limit)
            filter.finishedAfter = now.addingTimeInterval(-window)
            let jobs = try await store.jobs(filter)
            if jobs.count >= limit { activity.capped = true }
            if state == .completed { activity.completed = jobs } else { activity.dead = jobs }
        }
        return activity
    }

    /// Completed jobs per second over the window.
    var throughput: Double { window > 0 ? Double(completed.count) / window : 0 }
    /// Retries spent by the jobs that completed in the window (attempts beyond the first).
    var retries: Int { completed.reduce(0) { $0 + max(0, $1.attempt - 1) } + dead.reduce(0) { $0 + max(0, $1.attempt - 1) } }
    /// Jobs that finished in the window after more than one attempt.
    var retriedJobs: Int { (completed + dead).filter { $0.attempt > 1 }.count }

    /// First-attempt successes: attempt start minus due time.
    var queueWait: [TimeInterval] {
        completed.compactMap { job in
            guard job.attempt == 1, let started = job.attemptedAt else { return nil }
            return started.timeIntervalSince(job.runAt)
        }
    }
    /// The successful attempt's run time.
    var run: [TimeInterval] {
        completed.compactMap { job in
            guard let started = job.attemptedAt, let finished = job.finishedAt else { return nil }
            return finished.timeIntervalSince(started)
        }
    }
    /// Finished minus enqueued, retries and delays included.
    var endToEnd: [TimeInterval] {
        completed.compactMap { job in job.finishedAt.map { $0.timeIntervalSince(job.enqueuedAt) } }
    }

    /// Per type: completed and dead in the window.
    var byType: [String: (completed: Int, dead: Int)] {
        var result: [String: (completed: Int, dead: Int)] = [:]
        for job in completed { result[job.type, default: (0, 0)].completed += 1 }
        for job in dead { result[job.type, default: (0, 0)].dead += 1 }
        return result
    }

    static func percentile(_ values: [TimeInterval], _ p: Double) -> TimeInterval? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count - 1)).rounded(.up))
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    func jsonLatency(_ values: [TimeInterval]) -> JSONValue {
        .object([
            "count": .int(values.count),
            "p50": .seconds(Self.percentile(values, 0.5)),
            "p95": .seconds(Self.percentile(values, 0.95)),
            "p99": .seconds(Self.percentile(values, 0.99)),
            "max": .seconds(values.max()),
        ])
    }

    var json: JSONValue {
        .object([
            "window_seconds": .double(window),
            "completed": .int(completed.count),
            "dead": .int(dead.count),
            "throughput_per_second": .double((throughput * 1000).rounded() / 1000),
            "failure_rate": completed.count + dead.count > 0 ? .double((Double(dead.count) / Double(completed.count + dead.count) * 10000).rounded() / 10000) : .null,
            "retries": .int(retries),
            "retried_jobs": .int(retriedJobs),
            "sample_capped": .bool(capped),
            "latency": .object([
                "queue_wait_seconds": jsonLatency(queueWait),
                "run_seconds": jsonLatency(run),
                "end_to_end_seconds": jsonLatency(endToEnd),
            ]),
        ])
    }

    /// The activity lines shared by `stats` and `top`.
    func summaryLine() -> String {
        let finished = completed.count + dead.count
        return "Last \(Formatting.duration(window)): \(completed.count) completed (\(Formatting.number((throughput * 100).rounded() / 100))/s), "
            + "\(dead.count) dead, failure rate \(Formatting.percent(dead.count, of: finished)), "
            + "\(retries) retries (\(Formatting.count(retriedJobs, "job")) retried)\(capped ? " [sample capped]" : "")"
    }

    func latencyTable(indent: String = "  ") -> String {
        func row(_ name: String, _ values: [TimeInterval]) -> [String] {
            [name, "\(values.count)", Formatting.duration(Self.percentile(values, 0.5)), Formatting.duration(Self.percentile(values, 0.95)),
             Formatting.duration(Self.percentile(values, 0.99)), Formatting.duration(values.max())]
        }
        return Formatting.table(["LATENCY", "JOBS", "P50", "P95", "P99", "MAX"], [
            row("queue wait (due -> first start)", queueWait),
            row("run time", run),
            row("end to end (enqueued -> done)", endToEnd),
        ], indent: indent)
    }
}
