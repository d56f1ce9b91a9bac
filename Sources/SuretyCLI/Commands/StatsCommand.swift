import ArgumentParser
import Foundation
import Surety
import SuretySQLite
import SuretyViews

/// `surety stats`: counts by state, queue and type, the dead-letter inbox's size, and latency
/// figures from a sample of recently completed jobs.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Job counts by state, queue and type; dead-letter size; latencies of recent completed jobs."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("sample"), help: "How many of the most recently enqueued completed jobs the latency figures use (1 to 10000).")
    var sampleSize: Int = 1000

    @Option(name: .long, help: ArgumentHelp("The recent window for throughput, failure rate, retries and percentiles, for example 5m or 1h.", valueName: "duration"))
    var window: String = "5m"

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard (1...10_000).contains(sampleSize) else { throw ValidationError("--sample must be between 1 and 10000") }
        guard try TimeArguments.duration(window, option: "--window") > .zero else { throw ValidationError("--window must be positive") }
    }

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let (store, url) = (opened.store, opened.url)
        let counts = try await store.counts()
        let completed = try await store.jobs(JobFilter(states: [.completed], limit: sampleSize))
        let stats = Stats(counts: counts, completed: completed)
        // Per-queue limits (docs/flow-control.md), when the store keeps them.
        let limits = try await LimitsView.queueLimits(of: store)
        let view = LimitsView(limits: limits, counts: counts)
        let activity = try await Activity.load(store, window: try TimeArguments.duration(window, option: "--window").timeInterval, now: Date())
        if json {
            guard case .object(var object) = stats.json(store: url) else { return }
            object["limits"] = .object(view.jsonObject())
            object["recent"] = activity.json
            object["dead_letter_by_queue"] = .object(stats.byQueue.compactMapValues { $0[.dead].map { .int($0) } })
            object["dead_letter_by_type"] = .object(stats.byType.compactMapValues { $0[.dead].map { .int($0) } })
            Console.line(JSONValue.object(object).rendered())
        } else {
            Console.line(stats.text(store: url))
            if !limits.isEmpty {
                Console.line("")
                Console.line("Queue limits:")
                Console.line(view.text(emptyMessage: ""))
            }
            Console.line("")
            Console.line(activity.summaryLine())
            Console.line(activity.latencyTable())
        }
    }
}

/// The figures `stats` reports, computed from `counts()` and a sample of completed jobs.
struct Stats {
    var byState: [JobState: Int] = [:]
    var byQueue: [String: [JobState: Int]] = [:]
    var byType: [String: [JobState: Int]] = [:]
    var total = 0
    var sampleSize = 0
    /// First attempt start minus due time, for jobs that completed on their first attempt.
    var queueWait: [TimeInterval] = []
    /// The successful attempt's duration.
    var run: [TimeInterval] = []
    /// Completion minus enqueue, retries and intended delays included.
    var endToEnd: [TimeInterval] = []

    init(counts: [JobCount], completed: [JobRecord]) {
        for count in counts {
            total += count.count
            byState[count.state, default: 0] += count.count
            byQueue[count.queue, default: [:]][count.state, default: 0] += count.count
            byType[count.type, default: [:]][count.state, default: 0] += count.count
        }
        sampleSize = completed.count
        for job in completed {
            guard let finished = job.finishedAt else { continue }
            endToEnd.append(finished.timeIntervalSince(job.enqueuedAt))
            if let started = job.attemptedAt {
                run.append(finished.timeIntervalSince(started))
                if job.attempt == 1 { queueWait.append(started.timeIntervalSince(job.runAt)) }
            }
        }
    }

    static func percentile(_ values: [TimeInterval], _ p: Double) -> TimeInterval? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count - 1)).rounded(.up))
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    func jsonStates(_ states: [JobState: Int]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, JSONValue.int(states[$0] ?? 0)) }))
    }

    func jsonLatency(_ values: [TimeInterval]) -> JSONValue {
        .object([
            "count": .int(values.count),
            "p50": .seconds(Self.percentile(values, 0.5)),
            "p95": .seconds(Self.percentile(values, 0.95)),
            "max": .seconds(values.max()),
        ])
    }

    func json(store: StoreURL) -> JSONValue {
        .object([
            "store": .string(store.description),
            "total": .int(total),
            "by_state": jsonStates(byState),
            "by_queue": .object(byQueue.mapValues(jsonStates)),
            "by_type": .object(byType.mapValues(jsonStates)),
            "dead_letter": .int(byState[.dead] ?? 0),
            "latency": .object([
                "sample_size": .int(sampleSize),
                "queue_wait_seconds": jsonLatency(queueWait),
                "run_seconds": jsonLatency(run),
                "end_to_end_seconds": jsonLatency(endToEnd),
            ]),
        ])
    }

    func text(store: StoreURL) -> String {
        var lines: [String] = []
        lines.append("Store \(store): \(Formatting.count(total, "job")), \(byState[.dead] ?? 0) in the dead-letter inbox")
        lines.append("")
        let states = JobState.allCases
        func rows(_ groups: [String: [JobState: Int]]) -> [[String]] {
            groups.keys.sorted().map { name in
                let values = groups[name] ?? [:]
                return [name] + states.map { "\(values[$0] ?? 0)" } + ["\(values.values.reduce(0, +))"]
            }
        }
        let header = states.map { $0.rawValue.uppercased() } + ["TOTAL"]
        let totals = ["(all)"] + states.map { "\(byState[$0] ?? 0)" } + ["\(total)"]
        lines.append(Formatting.table(["QUEUE"] + header, rows(byQueue) + [totals]))
        lines.append("")
        lines.append(Formatting.table(["TYPE"] + header, rows(byType) + [totals]))
        lines.append("")
        lines.append("Latency over the \(Formatting.count(sampleSize, "most recent completed job")):")
        func latency(_ name: String, _ values: [TimeInterval]) -> [String] {
            [name, "\(values.count)", Formatting.duration(Self.percentile(values, 0.5)),
             Formatting.duration(Self.percentile(values, 0.95)), Formatting.duration(values.max())]
        }
        lines.append(Formatting.table(["FIGURE", "JOBS", "P50", "P95", "MAX"], [
            latency("queue wait (first-attempt successes: start - due)", queueWait),
            latency("run time (successful attempt)", run),
            latency("end to end (finished - enqueued, retries and delays included)", endToEnd),
        ], indent: "  "))
        return lines.joined(separator: "\n")
    }
}
