import Foundation
import Logging
import Surety
import Synchronization

/// Runs the benchmark matrix against one store (see docs/benchmarks.md for the method).
struct BenchRunner {
    struct Plan: Sendable {
        var jobs: Int
        var concurrencies: [Int]
        var workloads: [BenchWorkload]
        var oneAtATimeJobs: Int
        var pickupSamples: Int
        var backlogs: [Int]
        var backlogConcurrency: Int
        var retained: Bool
        var drainTimeout: Duration
        /// Runs per figure; the median run is reported (``BenchRunner/median(_:rate:_:)``).
        var repeats: Int = 1
    }

    let target: BenchTarget
    let plan: Plan
    let logger: Logger
    /// Progress lines go here (standard error with --json, so standard output stays JSON).
    let progress: @Sendable (String) -> Void

    /// Rows per `store.enqueue` call in the bulk figures and when filling a backlog.
    static let bulkBatch = 1000

    func run() async throws -> BenchReport {
        let started = ContinuousClock.now
        var report = BenchReport(
            store: target.kind, settings: try await target.settings(), machine: BenchMachine.current(), startedAt: Date(), jobs: plan.jobs
        )
        progress("machine load at start: \(BenchReport.loads(report.machine.loadAtStart))")
        for workload in plan.workloads {
            report.workloads.append(try await measure(workload))
        }
        let largest = plan.backlogs.max()
        var retained: BenchReport.DrainFigures?
        for backlog in plan.backlogs {
            let (figures, again) = try await drainBacklog(backlog, thenRetained: plan.retained && backlog == largest && plan.backlogs.count > 0)
            report.backlogs.append(figures)
            if let again { retained = again }
        }
        if let retained { report.backlogs.append(retained) }
        report.machine.loadAtEnd = BenchMachine.loadAverage()
        report.seconds = started.duration(to: .now).benchSeconds
        return report
    }

    // MARK: One workload

    func measure(_ workload: BenchWorkload) async throws -> BenchReport.WorkloadFigures {
        let name = workload.rawValue
        let rows = try workload.newJobs(Self.bulkBatch, now: Date())
        let bulk: BenchReport.Rate = try await median(plan.repeats, rate: { (rate: BenchReport.Rate) in rate }, { rate, runs in rate.runs = runs }) {
            try await target.withStore("\(name)-bulk", fresh: true) { store in
                try await timed(plan.jobs) { try await fill(store, rows: rows, count: plan.jobs) }
            }
        }
        report("\(name): bulk enqueue (store)", bulk)
        let client: BenchReport.Rate = try await median(plan.repeats, rate: { (rate: BenchReport.Rate) in rate }, { rate, runs in rate.runs = runs }) {
            try await target.withStore("\(name)-bulk-client", fresh: true) { store in
                let queue = JobQueue(store: store, logger: logger)
                return try await timed(plan.jobs) {
                    var left = plan.jobs
                    while left > 0 {
                        let count = min(left, Self.bulkBatch)
                        try await workload.enqueueMany(count, queue)
                        left -= count
                    }
                }
            }
        }
        report("\(name): bulk enqueue (JobQueue)", client)
        var figures = BenchReport.WorkloadFigures(
            workload: workload, payloadBytes: rows.first?.payload.utf8.count ?? 0, bulkEnqueue: bulk, bulkEnqueueClient: client
        )
        for producers in [1, 16] {
            let total = max(producers, plan.oneAtATimeJobs / producers * producers)
            let rate: BenchReport.Rate = try await median(plan.repeats, rate: { (rate: BenchReport.Rate) in rate }, { rate, runs in rate.runs = runs }) {
                try await target.withStore("\(name)-single-\(producers)", fresh: true) { store in
                    let queue = JobQueue(store: store, logger: logger)
                    return try await timed(total) {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<producers {
                                group.addTask {
                                    for _ in 0..<(total / producers) { try await workload.enqueueOne(queue) }
                                }
                            }
                            try await group.waitForAll()
                        }
                    }
                }
            }
            report("\(name): enqueue one at a time x\(producers)", rate)
            figures.enqueueOneAtATime.append(BenchReport.ProducerRate(producers: producers, rate: rate))
        }
        // Every concurrency for no-op jobs; the highest for the others (what the guarantee costs).
        let concurrencies = workload == .noop ? plan.concurrencies : [plan.concurrencies.max() ?? 64]
        for concurrency in concurrencies {
            let scenario = "\(name)-drain-\(concurrency)"
            let drain: BenchReport.DrainFigures = try await median(plan.repeats, rate: { (figures: BenchReport.DrainFigures) in figures.rate }, { figures, runs in figures.rate.runs = runs }) {
                try await target.withStore(scenario, fresh: true) { store -> BenchReport.DrainFigures in
                    try await fill(store, rows: rows, count: plan.jobs)
                    return try await drainInChild(scenario, workload: workload, backlog: plan.jobs, concurrency: concurrency, retained: 0, quiet: plan.repeats > 1)
                }
            }
            if plan.repeats > 1 { reportDrain(drain) }
            figures.drain.append(drain)
        }
        figures.pickup = try await pickup(workload)
        return figures
    }

    // MARK: Backlogs

    /// Drains `backlog` no-op jobs. With `thenRetained` (the largest backlog), then drains the
    /// smallest backlog again on the same table, which now holds the first drain's completed rows
    /// (retention keeps them): the figure for a table with many completed rows retained.
    func drainBacklog(_ backlog: Int, thenRetained: Bool) async throws -> (BenchReport.DrainFigures, BenchReport.DrainFigures?) {
        let scenario = "backlog-\(backlog)"
        let rows = try BenchWorkload.noop.newJobs(5000, now: Date())
        // A million-job backlog takes minutes to fill and drain: it runs once.
        let repeats = backlog > 100_000 ? 1 : plan.repeats
        let chosen = try await median(repeats, rate: { $0.0.rate }, { $0.0.rate.runs = $1 }) {
            try await target.withStore(scenario, fresh: true) { store -> (BenchReport.DrainFigures, BenchReport.DrainFigures?) in
                progress("backlog \(backlog): enqueueing")
                try await fill(store, rows: rows, count: backlog)
                let figures = try await drainInChild(scenario, workload: .noop, backlog: backlog, concurrency: plan.backlogConcurrency, retained: 0, quiet: repeats > 1)
                guard thenRetained, let smallest = plan.backlogs.min() else { return (figures, nil) }
                try await fill(store, rows: rows, count: smallest)
                let retained = try await drainInChild(scenario, workload: .noop, backlog: smallest, concurrency: plan.backlogConcurrency, retained: backlog, quiet: repeats > 1)
                return (figures, retained)
            }
        }
        if repeats > 1 {
            reportDrain(chosen.0)
            if let retained = chosen.1 { reportDrain(retained) }
        }
        return chosen
    }

    /// Runs `body` `repeats` times and returns the run with the median rate, with every run's
    /// jobs/s recorded by `record` (a machine whose speed varies from second to second makes one
    /// run a poor figure).
    func median<T>(
        _ repeats: Int, rate: (T) -> BenchReport.Rate, _ record: (inout T, [Double]) -> Void, _ body: () async throws -> T
    ) async throws -> T {
        guard repeats > 1 else { return try await body() }
        var runs: [T] = []
        for _ in 0..<repeats { runs.append(try await body()) }
        let rates = runs.map { rate($0).jobsPerSecond }
        var chosen = runs.sorted { rate($0).jobsPerSecond < rate($1).jobsPerSecond }[repeats / 2]
        record(&chosen, rates)
        return chosen
    }

    // MARK: Pieces

    /// Inserts `count` rows in `store.enqueue` calls of `rows.count`.
    func fill(_ store: any CommandStore, rows: [NewJob], count: Int) async throws {
        var left = count
        while left > 0 {
            let take = min(left, rows.count)
            _ = try await store.enqueue(take == rows.count ? rows : Array(rows.prefix(take)))
            left -= take
        }
    }

    func timed(_ jobs: Int, _ body: () async throws -> Void) async throws -> BenchReport.Rate {
        let start = ContinuousClock.now
        try await body()
        return BenchReport.Rate(jobs: jobs, seconds: start.duration(to: .now).benchSeconds)
    }

    func report(_ what: String, _ rate: BenchReport.Rate) {
        progress(what.padding(toLength: 40, withPad: " ", startingAt: 0) + BenchReport.rate(rate))
    }

    /// Prints one drain's progress line.
    func reportDrain(_ figures: BenchReport.DrainFigures) {
        let retainedText = figures.retainedCompleted > 0 ? " (+\(figures.retainedCompleted) completed)" : ""
        progress("\(figures.workload.rawValue): drain \(figures.backlog)\(retainedText), concurrency \(figures.concurrency)".padding(toLength: 40, withPad: " ", startingAt: 0) + BenchReport.drainText(figures))
    }

    /// Runs a worker in a child `surety bench` process over the scenario's store.
    func drainInChild(
        _ scenario: String, workload: BenchWorkload, backlog: Int, concurrency: Int, retained: Int, quiet: Bool = false
    ) async throws -> BenchReport.DrainFigures {
        guard let executable = ChildProcess.suretyExecutable() else {
            throw SuretyError(.invalidArgument, "cannot find the surety executable to run the worker process")
        }
        let output = target.path(scenario) + ".worker.log"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let arguments = ["bench"] + target.childArguments() + [
            "--child-drain", scenario, "--child-expected", "\(backlog)", "--concurrency", "\(concurrency)",
            "--drain-timeout-seconds", "\(Int(plan.drainTimeout.benchSeconds))",
        ]
        let child = try ChildProcess(executable: executable, arguments: arguments, outputPath: output, environment: target.childEnvironment())
        try child.start()
        let status = await child.waitForExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix(BenchDrain.resultPrefix) }) else {
            throw SuretyError(.storeUnavailable, "the bench worker process failed (exit \(status)):\n\(text.suffix(2000))")
        }
        let result = try JSONDecoder().decode(BenchDrain.Result.self, from: Data(line.dropFirst(BenchDrain.resultPrefix.count).utf8))
        if result.notCompleted > 0 {
            throw SuretyError(.storeUnavailable, "\(result.notCompleted) bench jobs did not complete on their first attempt")
        }
        let figures = BenchReport.DrainFigures(
            workload: workload, concurrency: concurrency, backlog: backlog, retainedCompleted: retained,
            rate: BenchReport.Rate(jobs: result.jobs, seconds: result.seconds),
            peakMemoryMib: (Double(result.peakKiB) / 1024 * 10).rounded() / 10,
            memoryBeforeMib: (Double(result.beforeKiB) / 1024 * 10).rounded() / 10,
            cpuMicrosecondsPerJob: result.jobs > 0 ? (result.cpuSeconds / Double(result.jobs) * 1e6 * 10).rounded() / 10 : 0
        )
        if !quiet { reportDrain(figures) }
        return figures
    }

    /// Enqueue-to-start latency: an idle worker in this process, one job at a time, each enqueued
    /// after the previous one finished and a short pause (so the worker is waiting again).
    func pickup(_ workload: BenchWorkload) async throws -> BenchReport.Pickup? {
        guard plan.pickupSamples > 0 else { return nil }
        let samples = plan.pickupSamples
        return try await target.withStore("\(workload.rawValue)-pickup", fresh: true) { store in
            let (events, sink) = AsyncStream<(Bool, ContinuousClock.Instant)>.makeStream()
            let configuration = WorkerConfiguration(queues: ["default"], concurrency: 16, onEvent: { event in
                switch event {
                case .attemptStarted: sink.yield((true, .now))
                case .attemptFinished: sink.yield((false, .now))
                default: break
                }
            })
            let worker = Worker(store: store, registry: BenchWorkload.registry, configuration: configuration, logger: logger)
            let queue = JobQueue(store: store, logger: logger)
            var latencies: [Double] = []
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                var iterator = events.makeAsyncIterator()
                // A first job warms the worker up; it is not counted.
                for index in -1..<samples {
                    try await Task.sleep(for: .milliseconds(2))
                    let start = ContinuousClock.now
                    try await workload.enqueueOne(queue)
                    var started: ContinuousClock.Instant?
                    while let (isStart, at) = await iterator.next() {
                        if isStart { started = at } else { break }
                    }
                    if index >= 0, let started { latencies.append(start.duration(to: started).benchSeconds * 1000) }
                }
                worker.beginDrain()
                try await group.waitForAll()
            }
            sink.finish()
            latencies.sort()
            func percentile(_ p: Double) -> Double {
                guard !latencies.isEmpty else { return 0 }
                let index = min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)
                return (latencies[max(0, index)] * 1000).rounded() / 1000
            }
            let figures = BenchReport.Pickup(
                samples: latencies.count, p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99),
                maxMilliseconds: percentile(1)
            )
            progress("\(workload.rawValue): pickup" + String(format: " p50 %.2f ms, p99 %.2f ms, max %.2f ms", figures.p50Milliseconds, figures.p99Milliseconds, figures.maxMilliseconds))
            return figures
        }
    }
}
