import ArgumentParser
import Foundation
import Logging
import Surety

/// `surety bench`: throughput, latency, memory and CPU figures of a store and the worker runtime.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure enqueue and drain throughput, pickup latency, worker memory and CPU per job.",
        discussion: """
            Every scenario runs on its own fresh store beside the given one (for sqlite:PATH, files \
            named PATH-SCENARIO.sqlite, removed afterwards). Drains run the real Worker in a child \
            process, timed from the first claim to the last durably recorded completion. Build with \
            `swift build -c release` for figures worth comparing; see docs/benchmarks.md.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Jobs per bulk-enqueue and drain figure.")
    var jobs: Int = 20_000

    @Option(name: .long, help: ArgumentHelp("Worker concurrencies to drain with (comma-separated or repeated).", valueName: "n,..."))
    var concurrency: [String] = ["16,64,256"]

    @Option(name: .long, help: ArgumentHelp("Job kinds to measure: noop, effect (records one effect), payload1k.", valueName: "kind,..."))
    var workloads: String = "noop,effect,payload1k"

    @Option(name: .customLong("one-at-a-time-jobs"), help: "Jobs enqueued one at a time (by 1 and by 16 producers). Default: the smaller of --jobs and 2000.")
    var oneAtATimeJobs: Int?

    @Option(name: .customLong("pickup-samples"), help: "Jobs timed from enqueue to start with an idle worker. Default: the smaller of --jobs and 200.")
    var pickupSamples: Int?

    @Option(name: .long, help: ArgumentHelp("Backlogs of no-op jobs to drain (comma-separated), e.g. 10000,100000,1000000. Default: --jobs and 10 x --jobs; 'none' skips.", valueName: "n,..."))
    var backlogs: String?

    @Option(name: .customLong("backlog-concurrency"), help: "Worker concurrency for the backlog drains. Default: the highest --concurrency.")
    var backlogConcurrency: Int?

    @Flag(name: .customLong("no-retained"), help: "Skip the drain of the smallest backlog with the largest backlog's completed rows retained.")
    var noRetained = false

    @Option(name: .customLong("repeat"), help: "Run each enqueue and drain figure this many times (each on a fresh store) and report the median run, with every run's rate in the JSON. Backlogs above 100,000 run once.")
    var repeats: Int = 1

    @Option(name: .customLong("drain-timeout-seconds"), help: "Give up on a drain after this long.")
    var drainTimeoutSeconds: Int = 900

    @Flag(name: .long, help: "Print the figures as JSON on standard output (progress goes to standard error).")
    var json = false

    /// Internal: run as the worker process of one drain (scenario name).
    @Option(name: .customLong("child-drain"), help: .hidden)
    var childDrain: String?

    @Option(name: .customLong("child-expected"), help: .hidden)
    var childExpected: Int = 0

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        let levels = try concurrencies()
        guard !levels.isEmpty else { throw ValidationError("--concurrency needs at least one value") }
        _ = try workloadList()
        _ = try backlogList()
        if let oneAtATimeJobs, oneAtATimeJobs < 0 { throw ValidationError("--one-at-a-time-jobs must not be negative") }
        if let pickupSamples, pickupSamples < 0 { throw ValidationError("--pickup-samples must not be negative") }
        if let backlogConcurrency, !(1...1000).contains(backlogConcurrency) {
            throw ValidationError("--backlog-concurrency must be between 1 and 1000")
        }
        guard (1...15).contains(repeats) else { throw ValidationError("--repeat must be between 1 and 15") }
        guard drainTimeoutSeconds >= 1 else { throw ValidationError("--drain-timeout-seconds must be at least 1") }
    }

    func concurrencies() throws -> [Int] {
        var values: [Int] = []
        for part in concurrency.flatMap({ $0.split(separator: ",") }) {
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), (1...1000).contains(value) else {
                throw ValidationError("--concurrency values must be whole numbers between 1 and 1000, got '\(part)'")
            }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }

    func workloadList() throws -> [BenchWorkload] {
        try workloads.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let workload = BenchWorkload(rawValue: name) else {
                throw ValidationError("unknown workload '\(name)'; choose from \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return workload
        }
    }

    func backlogList() throws -> [Int] {
        guard let backlogs else { return [jobs, jobs * 10] }
        if backlogs.trimmingCharacters(in: .whitespaces).lowercased() == "none" { return [] }
        return try backlogs.split(separator: ",").map { part in
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw ValidationError("--backlogs values must be positive whole numbers, got '\(part)'")
            }
            return value
        }
    }

    func run() async throws {
        let logger = Logs.standardError("surety.bench", level: .warning)
        let url = try storeOptions.url()
        let target = BenchTarget(url: url, synchronous: storeOptions.synchronous)
        if let scenario = childDrain {
            try await runChild(target, scenario: scenario, logger: logger)
            return
        }
        let levels = try concurrencies()
        let plan = BenchRunner.Plan(
            jobs: jobs, concurrencies: levels, workloads: try workloadList(),
            oneAtATimeJobs: oneAtATimeJobs ?? min(jobs, 2000), pickupSamples: pickupSamples ?? min(jobs, 200),
            backlogs: try backlogList(), backlogConcurrency: backlogConcurrency ?? levels.max() ?? 64,
            retained: !noRetained, drainTimeout: .seconds(drainTimeoutSeconds), repeats: repeats
        )
        let json = json
        let runner = BenchRunner(target: target, plan: plan, logger: logger) { line in
            if json { Console.error(line) } else { Console.line(line) }
        }
        let report = try await runner.run()
        if json {
            Console.line(try report.json())
        } else {
            Console.line()
            Console.line(report.text())
        }
    }

    /// The worker process of one drain: prints its result as one line of JSON.
    func runChild(_ target: BenchTarget, scenario: String, logger: Logger) async throws {
        let levels = try concurrencies()
        let result = try await target.withStore(scenario, fresh: false) { store in
            try await BenchDrain.run(
                store: store, concurrency: levels.first ?? 64, expected: childExpected,
                timeout: .seconds(drainTimeoutSeconds), logger: logger
            )
        }
        let encoded = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        Console.line(BenchDrain.resultPrefix + encoded)
    }
}
