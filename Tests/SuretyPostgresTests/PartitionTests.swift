import Foundation
import Logging
import PostgresNIO
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

// Issue 17, network faults, first slice: a partition between a worker and PostgreSQL longer than
// the lease, and connection resets in the middle of claims and outcome batches, through a real
// TCP proxy (FaultProxy.swift), observed by a "provider" the jobs call.

/// The provider the jobs call, which records every run of every job body as the body itself saw
/// it: which node, when it started and ended, whether it returned normally. In-process for this
/// slice (issue 17 asks for a small HTTP provider run by the test; what is observed here is the
/// same: the runs themselves, not what the store says about them), so "no two concurrent runs"
/// is checked against when bodies actually ran, not inferred from leases.
final class PartitionProvider: Sendable {
    struct Run: Sendable {
        var job: JobID
        var node: String
        var attempt: Int
        var started: ContinuousClock.Instant
        var ended: ContinuousClock.Instant?
        var succeeded = false
    }

    private struct State {
        var runs: [Run] = []
        var inFlight: [JobID: Int] = [:]
        var maxConcurrent: [JobID: Int] = [:]
        /// Runs that overlapped another run of the same job, with the nodes involved.
        var overlaps: [String] = []
    }

    private let state = Mutex(State())

    /// Records a run's start; returns its index for ``end(_:succeeded:)``.
    func begin(_ job: JobID, node: String, attempt: Int) -> Int {
        state.withLock { state in
            let others = state.runs.filter { $0.job == job && $0.ended == nil }
            if !others.isEmpty {
                state.overlaps.append("job \(job): \(node) attempt \(attempt) started while \(others.map { "\($0.node) attempt \($0.attempt)" }) ran")
            }
            state.runs.append(Run(job: job, node: node, attempt: attempt, started: .now))
            state.inFlight[job, default: 0] += 1
            state.maxConcurrent[job] = max(state.maxConcurrent[job] ?? 0, state.inFlight[job]!)
            return state.runs.count - 1
        }
    }

    func end(_ index: Int, succeeded: Bool) {
        state.withLock { state in
            state.runs[index].ended = .now
            state.runs[index].succeeded = succeeded
            state.inFlight[state.runs[index].job, default: 1] -= 1
        }
    }

    var runs: [Run] { state.withLock { $0.runs } }
    var overlaps: [String] { state.withLock { $0.overlaps } }
    /// The most runs of any one job at the same time (1 when no job ever ran concurrently).
    var maxConcurrentRunsOfOneJob: Int { state.withLock { $0.maxConcurrent.values.max() ?? 0 } }
}

/// A job that works for `seconds` on the worker's clock (cooperatively: the sleep ends with
/// the attempt's cancellation), reporting its run to the provider.
struct PartitionSleepJob: Job {
    static let name = "test.partition-sleep"
    static let options = JobOptions(maxAttempts: 20, backoff: .constant(.milliseconds(200)), timeout: .seconds(120))
    var seconds: Double

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(PartitionProvider.self)
        let run = provider.begin(context.id, node: context.worker, attempt: context.attempt)
        do {
            if seconds > 0 { try await context.clock.sleep(for: .milliseconds(Int(seconds * 1000))) }
            provider.end(run, succeeded: true)
        } catch {
            provider.end(run, succeeded: false)
            throw error
        }
    }
}

/// Worker events with the time they happened, for a timeline in the test output.
final class TimedEvents: Sendable {
    private let events = Mutex<[(ContinuousClock.Instant, String, WorkerEvent)]>([])
    func recorder(_ node: String) -> @Sendable (WorkerEvent) -> Void {
        { event in self.events.withLock { $0.append((.now, node, event)) } }
    }

    var all: [(ContinuousClock.Instant, String, WorkerEvent)] { events.withLock { $0 } }
}

final class StoppedCount: Sendable {
    let count = Mutex(0)
}

/// Writes log lines through ``say(_:)`` with the time, when `SURETY_TEST_TRACE_FILE` is set.
struct TraceLogHandler: LogHandler {
    var label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard ProcessInfo.processInfo.environment["SURETY_TEST_TRACE_FILE"] != nil else { return }
        let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
        say("log \(Date().formatted(.iso8601.time(includingFractionalSeconds: true))) \(event.level) \(label): \(event.message) \(all.isEmpty ? "" : "\(all)")")
    }

    /// `capture`'s logger for `label`, also traced.
    static func logger(_ capture: LogCapture, label: String, level: Logger.Level) -> Logger {
        let captured = capture.logger(label: label, level: level).handler
        var logger = Logger(label: label) { label in MultiplexLogHandler([captured, TraceLogHandler(label: label, logLevel: level)]) }
        logger.logLevel = level
        return logger
    }
}

/// SplitMix64: a seeded generator, so a run can be repeated with its printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Prints a step of a test's teardown with the time, to see where a hang is.
func phase(_ what: String) {
    say("phase \(Date().formatted(.iso8601.time(includingFractionalSeconds: true))): \(what)")
}

/// Prints a line unbuffered (standard error), so that it is seen even if the run is killed.
/// With `SURETY_TEST_TRACE_FILE` set, each line is appended to that file too (`swift test`
/// buffers its child's output, and loses it when it is killed).
func say(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
    if let path = ProcessInfo.processInfo.environment["SURETY_TEST_TRACE_FILE"] {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        }
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private func format(_ duration: Duration) -> String {
    String(format: "%.2f s", seconds(duration))
}

@Suite(
    "PostgreSQL network faults through a TCP proxy",
    .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"),
    .timeLimit(.minutes(3))
)
struct PartitionTests {
    /// Two stores on one fresh schema: node A's through `proxy`, node B's directly. The schema is
    /// dropped afterwards (through node B, which no fault reaches).
    func withNodes<T>(
        proxy: FaultProxy, loggerA: Logger, _ body: (_ nodeA: PostgresStore, _ nodeB: PostgresStore) async throws -> T
    ) async throws -> T {
        var direct = try PostgresStore.Configuration(url: try TestServer.requireURL(), schema: TestServer.freshSchema())
        direct.maximumConnections = 6
        var viaProxy = direct
        viaProxy.host = "127.0.0.1"
        viaProxy.port = proxy.port
        // Short, so that a call that gets no answer (a reset, a black hole) fails in seconds and
        // is retried, as the default 60 s does in production.
        viaProxy.operationTimeout = .seconds(5)
        let value = try await PostgresStore.withStore(configuration: viaProxy, logger: loggerA) { nodeA in
            try await nodeA.migrate()
            let value = try await PostgresStore.withStore(configuration: direct) { nodeB in
                do {
                    let value = try await body(nodeA, nodeB)
                    phase("dropping the schema")
                    try await TestServer.dropSchema(nodeB)
                    phase("closing node B's store")
                    return value
                } catch {
                    // Never leave the proxy black-holed behind a failure: the stores' shutdown
                    // would wait on silent connections.
                    proxy.heal()
                    try? await TestServer.dropSchema(nodeB)
                    throw error
                }
            }
            phase("closing node A's store")
            return value
        }
        phase("stores closed")
        return value
    }

    /// Runs `workers` around `body`, then drains them. A worker that does not stop within 30 s
    /// of its drain is a failure; it is cancelled, and if it does not stop within 10 s more
    /// either, it is reported as hung and left behind (unstructured tasks, so that a hung worker
    /// fails this test instead of hanging the whole run).
    func withWorkers<T>(_ workers: [Worker], _ body: () async throws -> T) async throws -> T {
        let stopped = StoppedCount()
        let tasks = workers.map { worker in
            Task {
                try await worker.run()
                stopped.count.withLock { $0 += 1 }
            }
        }
        func stop(after drain: Bool) async {
            if drain {
                phase("draining \(workers.map(\.configuration.workerID))")
                for worker in workers { worker.beginDrain() }
                do {
                    try await eventuallyTrue("the workers stop after their drain", timeout: .seconds(30)) { stopped.count.withLock { $0 } == workers.count }
                    phase("drained \(workers.map(\.configuration.workerID))")
                    return
                } catch {
                    Issue.record("a worker did not stop within 30 s of its drain (\(workers.map(\.configuration.workerID))); cancelling it")
                }
            }
            for task in tasks { task.cancel() }
            do {
                try await eventuallyTrue("the workers stop after cancellation", timeout: .seconds(10)) { stopped.count.withLock { $0 } == workers.count }
            } catch {
                Issue.record("a worker (\(workers.map(\.configuration.workerID))) did not stop within 10 s of its task's cancellation either: it is hung; left behind")
            }
        }
        do {
            let value = try await body()
            await stop(after: true)
            return value
        } catch {
            phase("failed: \(error); stopping \(workers.map(\.configuration.workerID))")
            await stop(after: true)
            throw error
        }
    }

    func jobStates(_ store: PostgresStore) async throws -> [String: Int] {
        let rows = try await store.query("test: states", PostgresQuery(unsafeSQL: "SELECT state, count(*) FROM \"\(store.configuration.schema)\".surety_jobs GROUP BY state")) { rows in
            try await rows.collect { (try $0[0].decode(String.self), try $0[1].decode(Int.self)) }
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    /// Every recorded attempt of `ids` (the store's history, ``PostgresStore/attempts(of:)``:
    /// a successful last attempt lives in the job's row, the others in surety_attempts).
    func attempts(_ store: PostgresStore, of ids: [JobID]) async throws -> [(job: JobID, worker: String, outcome: String)] {
        var all: [(job: JobID, worker: String, outcome: String)] = []
        for id in ids {
            for record in try await store.attempts(of: id) {
                all.append((id, record.worker, record.outcome?.rawValue ?? "running"))
            }
        }
        return all
    }

    // MARK: A partition longer than the lease

    @Test("a partition longer than the lease: node A's attempts stop in time, node B takes the jobs over, no job runs on two nodes at once, node A recovers by itself")
    func partitionLongerThanLease() async throws {
        let url = try TestServer.requireURL()
        let upstream = try FaultProxy.upstream(of: url)
        let jobs = 4
        let jobSeconds = 8.0
        let lease: Duration = .seconds(3)
        let partition: Duration = .seconds(6)
        let began = ContinuousClock.now
        try await FaultProxy.withFaultProxy(upstreamHost: upstream.host, upstreamPort: upstream.port) { proxy in
            let captureA = LogCapture()
            let traceA = ProcessInfo.processInfo.environment["SURETY_TEST_TRACE"] == "1"
            try await withNodes(proxy: proxy, loggerA: captureA.logger(label: "surety.postgres.a", level: traceA ? .trace : .info)) { nodeA, nodeB in
                let provider = PartitionProvider()
                var dependencies = JobDependencies()
                dependencies.register(provider)
                let registry = JobRegistry([PartitionSleepJob.self])
                let events = TimedEvents()
                // Node A does not rescue: a partitioned node that held the rescue leadership
                // would keep its advisory lock on the server for as long as the server sees its
                // session alive (TCP keepalives; the proxy's own socket answers them), and no
                // other node could rescue meanwhile. Node B is the rescuer here.
                let workerA = Worker(
                    store: nodeA, registry: registry,
                    configuration: WorkerConfiguration(
                        concurrency: jobs + 2, leaseDuration: lease, heartbeatInterval: .seconds(1), pollInterval: .milliseconds(500),
                        rescueInterval: nil, shutdownGracePeriod: .seconds(10), workerID: "node-a", onEvent: events.recorder("node-a")
                    ),
                    dependencies: dependencies, logger: TraceLogHandler.logger(captureA, label: "surety.worker.a", level: .info)
                )
                let workerB = Worker(
                    store: nodeB, registry: registry,
                    configuration: WorkerConfiguration(
                        concurrency: jobs, leaseDuration: lease, heartbeatInterval: .seconds(1), pollInterval: .milliseconds(500),
                        rescueInterval: .milliseconds(500), shutdownGracePeriod: .seconds(10), workerID: "node-b", onEvent: events.recorder("node-b")
                    ),
                    dependencies: dependencies, logger: LogCapture().logger(label: "surety.worker.b", level: .info)
                )
                let queue = JobQueue(store: nodeB, registry: registry)
                let start = ContinuousClock.now
                var partitioned: [JobID] = []
                var afterHeal: [JobID] = []
                var healedAt = start
                var blackholedAt = start
                /// Node A's bodies still running when the partition healed (for the report).
                var stillRunningAtHeal = 0

                try await withWorkers([workerA]) {
                    for _ in 0..<jobs {
                        partitioned.append(try await queue.enqueue(PartitionSleepJob(seconds: jobSeconds), tenant: .system).id)
                    }
                    try await eventuallyTrue("node A starts all \(jobs) jobs", timeout: .seconds(30)) {
                        Set(provider.runs.filter { $0.node == "node-a" }.map(\.job)) == Set(partitioned)
                    }
                    try await withWorkers([workerB]) {
                        // A heartbeat or two go through before the partition.
                        try await Task.sleep(for: .milliseconds(1500))
                        blackholedAt = .now
                        proxy.blackhole()
                        say("partition: black hole at \(format(blackholedAt - start)) for \(format(partition)) (lease \(format(lease)), heartbeat 1 s)")
                        try await Task.sleep(for: partition)
                        // Node A's bodies must all have been stopped by its own lease guard by
                        // now, with no store call answered.
                        let stillRunningOnA = provider.runs.filter { $0.node == "node-a" && $0.ended == nil }
                        #expect(stillRunningOnA.isEmpty, "node A's attempts still running after a partition of \(format(partition)): \(stillRunningOnA.map(\.job))")
                        stillRunningAtHeal = stillRunningOnA.count
                        proxy.heal()
                        healedAt = .now
                        say("partition: healed at \(format(healedAt - start))")

                        // Node A keeps working after the heal by itself: new short jobs, while
                        // node B is busy with the long ones it took over.
                        for _ in 0..<8 {
                            afterHeal.append(try await queue.enqueue(PartitionSleepJob(seconds: 0.3), tenant: .system).id)
                        }
                        let all = Set(partitioned + afterHeal)
                        try await eventuallyTrue("every job completes", timeout: .seconds(90)) {
                            let succeeded = Set(provider.runs.filter(\.succeeded).map(\.job))
                            guard succeeded == all else { return false }
                            return try await jobStates(nodeB) == ["completed": all.count]
                        }
                        // Node A's store answers directly after the heal (its pool is not wedged).
                        let probe = ContinuousClock.now
                        _ = try await withTimeout(20, "a query on node A's store after the heal") {
                            try await nodeA.query("test: probe", "SELECT 1") { rows in try await rows.collect { try $0[0].decode(Int.self) } }
                        }
                        say("partition: node A's store answered a query \(format(ContinuousClock.now - probe)) after asking")
                    }
                }

                // What the provider saw.
                let runs = provider.runs
                let history = try await attempts(nodeB, of: partitioned + afterHeal)
                let outcomes = Dictionary(grouping: history, by: \.outcome).mapValues(\.count)
                say("partition: \(jobs + afterHeal.count) jobs, 1 partition of \(format(partition)), \(runs.count) runs, most concurrent runs of one job \(provider.maxConcurrentRunsOfOneJob); attempts by outcome \(outcomes.sorted { $0.key < $1.key })")
                for run in runs.sorted(by: { $0.started < $1.started }) {
                    say("  run job \(run.job) attempt \(run.attempt) on \(run.node): \(format(run.started - start)) – \(run.ended.map { format($0 - start) } ?? "never ended") \(run.succeeded ? "succeeded" : "stopped")")
                }
                for (at, node, event) in events.all where node == "node-a" || "\(event)".contains("rescued") {
                    let text = "\(event)"
                    if text.contains("attemptStarted") && at < blackholedAt { continue }
                    say("  event \(format(at - start)) \(node): \(text.prefix(200))")
                }

                #expect(provider.overlaps.isEmpty, "runs of one job overlapped: \(provider.overlaps)")
                #expect(provider.maxConcurrentRunsOfOneJob == 1)
                for id in partitioned + afterHeal {
                    let mine = runs.filter { $0.job == id }
                    #expect(mine.filter(\.succeeded).count == 1, "job \(id) succeeded \(mine.filter(\.succeeded).count) times: \(mine.map { "\($0.node)#\($0.attempt) \($0.succeeded)" })")
                    let recorded = history.filter { $0.job == id }
                    #expect(recorded.filter { $0.outcome == "succeeded" }.count == 1, "job \(id)'s history: \(recorded.map { "\($0.worker) \($0.outcome)" })")
                    // Every run the provider saw is an attempt in the history, and the reverse.
                    #expect(recorded.count == mine.count, "job \(id): \(mine.count) runs seen, \(recorded.count) attempts recorded: \(recorded.map { "\($0.worker) \($0.outcome)" })")
                }
                for id in partitioned {
                    let onA = history.filter { $0.job == id && $0.worker == "node-a" }
                    #expect(onA.count == 1 && ["interrupted", "lost"].contains(onA.first?.outcome ?? ""),
                            "job \(id): node A's attempts \(onA.map(\.outcome)) (expected one, interrupted or lost)")
                    // The partitioned node's run ended before anyone else's began.
                    let endA = runs.first { $0.job == id && $0.node == "node-a" }?.ended
                    let nextStart = runs.filter { $0.job == id && $0.node != "node-a" }.map(\.started).min()
                    if let endA, let nextStart { #expect(endA < nextStart) }
                }
                let lateOnA = runs.filter { afterHeal.contains($0.job) && $0.node == "node-a" && $0.succeeded }.count
                say("partition: after the heal node A ran \(lateOnA) of \(afterHeal.count) new jobs")
                #expect(lateOnA > 0, "node A ran none of the jobs enqueued after the heal: it did not recover")
                #expect(captureA.entries.contains { $0.message.contains("lease not renewed in time") }, "node A logs that it stopped attempts whose lease it could not renew")

                // The run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), from the counts above.
                let all = partitioned + afterHeal
                let lost = all.filter { id in !history.contains { $0.job == id && $0.outcome == "succeeded" } }.count
                let extraSuccesses = all.map { id in max(0, runs.filter { $0.job == id && $0.succeeded }.count - 1) }.reduce(0, +)
                let onA = history.filter { partitioned.contains($0.job) && $0.worker == "node-a" }
                GuaranteeReport(
                    fault: "partition longer than the lease", jobs: all.count, faults: 1, lost: lost,
                    duplicateEffects: extraSuccesses, concurrentRuns: provider.overlaps.count, tenantMismatches: nil, seed: nil,
                    seconds: GuaranteeReport.seconds(since: began),
                    holds: lost == 0 && extraSuccesses == 0 && provider.overlaps.isEmpty && stillRunningAtHeal == 0 && lateOnA > 0,
                    notes: "\(GuaranteeReport.singleTenant); duplicate effects: jobs completed more than once; a \(partition.components.seconds) s partition, \(lease.components.seconds) s lease: node A's \(onA.count) attempts stopped in time (\(onA.filter { $0.outcome == "interrupted" }.count) interrupted, \(onA.filter { $0.outcome == "lost" }.count) lost), taken over by node B; after the heal node A ran \(lateOnA) of \(afterHeal.count) new jobs; not seeded"
                ).append()
            }
        }
    }

    // MARK: Resets in the middle of claims and outcome batches

    @Test("connection resets in the middle of claims and outcome batches lose nothing and run nothing twice without an attempt that did not succeed")
    func resetsMidDrain() async throws {
        let url = try TestServer.requireURL()
        let upstream = try FaultProxy.upstream(of: url)
        let seed = ProcessInfo.processInfo.environment["SURETY_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        say("resets: seed \(seed) (SURETY_TEST_SEED=\(seed) repeats it)")
        var random = SeededGenerator(state: seed)
        let jobs = 800
        // A claim could hang for good after a reset (found by this test in 3 of about 14 runs):
        // node A claimed nothing, and neither its drain nor its task's cancellation stopped it.
        // Closing the claim's connection (the operationTimeout watchdog, 5 s here) did not end it
        // (traced: watchdog at +5 s, no answer 40 s later); the prepared statement's caller now
        // stops waiting a second after the watchdog (PostgresStore.execute), and in 8 runs since,
        // one met the stuck claim and recovered (passed in 8.7 s). Until more runs say so, only
        // Every limited store call now stops waiting a second after the watchdog, transactions
        // included (PostgresStore.pooled), so a hang fails this test again: it is no longer a
        // known issue.
        try await resetsMidDrain(url: url, upstream: upstream, seed: seed, jobs: jobs, random: &random)
    }

    func resetsMidDrain(url: String, upstream: (host: String, port: Int), seed: UInt64, jobs: Int, random: inout SeededGenerator) async throws {
        let began = ContinuousClock.now
        try await FaultProxy.withFaultProxy(upstreamHost: upstream.host, upstreamPort: upstream.port) { proxy in
            let captureA = LogCapture()
            try await withNodes(proxy: proxy, loggerA: TraceLogHandler.logger(captureA, label: "surety.postgres.a", level: .info)) { nodeA, nodeB in
                let provider = PartitionProvider()
                var dependencies = JobDependencies()
                dependencies.register(provider)
                let registry = JobRegistry([PartitionSleepJob.self])
                let worker = Worker(
                    store: nodeA, registry: registry,
                    configuration: WorkerConfiguration(
                        concurrency: 10, leaseDuration: .seconds(3), heartbeatInterval: .seconds(1), pollInterval: .milliseconds(500),
                        rescueInterval: .milliseconds(500), shutdownGracePeriod: .seconds(10), workerID: "node-a"
                    ),
                    dependencies: dependencies, logger: TraceLogHandler.logger(captureA, label: "surety.worker.a", level: .info)
                )
                let queue = JobQueue(store: nodeB, registry: registry)
                var ids: [JobID] = []
                for _ in 0..<(jobs / 100) {
                    ids += try await queue.enqueue((0..<100).map { _ in PartitionSleepJob(seconds: 0.02) }, tenant: .system).map(\.id)
                }
                var resets = 0
                let start = ContinuousClock.now
                try await withWorkers([worker]) {
                    // Reset every connection at random moments while the jobs drain through
                    // node A (claims and outcome batches are in flight all the time).
                    while provider.runs.filter(\.succeeded).count < jobs * 9 / 10, resets < 12 {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 100...500, using: &random)))
                        proxy.resetAll()
                        resets += 1
                        phase("reset \(resets) of every connection; \(provider.runs.filter(\.succeeded).count) runs done")
                    }
                    try await eventuallyTrue("every job completes", timeout: .seconds(45)) {
                        (try await jobStates(nodeB)) == ["completed": jobs]
                    }
                    phase("resets: every job completed")
                }
                let elapsed = ContinuousClock.now - start
                let runs = provider.runs
                let history = try await attempts(nodeB, of: ids)
                let outcomes = Dictionary(grouping: history, by: \.outcome).mapValues(\.count)
                let runsPerJob = Dictionary(grouping: runs, by: \.job)
                let twice = runsPerJob.filter { $0.value.count > 1 }
                say("resets: \(jobs) jobs, \(resets) resets of every connection in \(format(elapsed)), \(runs.count) runs, \(twice.count) jobs ran more than once, most concurrent runs of one job \(provider.maxConcurrentRunsOfOneJob); attempts by outcome \(outcomes.sorted { $0.key < $1.key }); \(proxy.accepted) connections accepted")
                let warnings = Dictionary(grouping: captureA.entries.filter { $0.level >= .warning }, by: \.message).mapValues(\.count)
                say("resets: node A's warnings \(warnings.sorted { $0.key < $1.key })")

                let historyOf = Dictionary(grouping: history, by: \.job)
                let unsuccessful = historyOf.filter { $0.value.contains { $0.outcome != "succeeded" } }
                for (id, recorded) in unsuccessful.sorted(by: { $0.key < $1.key }) {
                    say("  job \(id): \(runsPerJob[id]?.count ?? 0) runs seen; history \(recorded.map { "\($0.worker) \($0.outcome)" })")
                }
                #expect(resets >= 3, "too few resets to mean anything (\(resets)): the jobs drained too fast")
                #expect(provider.overlaps.isEmpty, "runs of one job overlapped: \(provider.overlaps)")
                let historyByJob = Dictionary(grouping: history, by: \.job)
                for id in ids {
                    let mine = runsPerJob[id] ?? []
                    let recorded = historyByJob[id] ?? []
                    #expect(recorded.filter { $0.outcome == "succeeded" }.count == 1, "job \(id)'s history: \(recorded.map(\.outcome))")
                    #expect(mine.filter(\.succeeded).count >= 1, "job \(id) never ran to the end")
                    if mine.count > 1 {
                        #expect(recorded.contains { $0.outcome != "succeeded" }, "job \(id) ran \(mine.count) times with no attempt that did not succeed: \(recorded.map(\.outcome))")
                    }
                }

                // The run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), from the counts above.
                let lost = ids.filter { id in
                    !(historyByJob[id] ?? []).contains { $0.outcome == "succeeded" } || !(runsPerJob[id] ?? []).contains(where: \.succeeded)
                }.count
                // Duplicates as this test measures them: a job completed twice, or run again
                // without an attempt that did not succeed (a rerun after one is at-least-once).
                let duplicates = ids.filter { id in
                    let recorded = historyByJob[id] ?? []
                    return recorded.filter { $0.outcome == "succeeded" }.count > 1
                        || ((runsPerJob[id]?.count ?? 0) > 1 && !recorded.contains { $0.outcome != "succeeded" })
                }.count
                GuaranteeReport(
                    fault: "connection resets mid claims and outcome batches", jobs: jobs, faults: resets, lost: lost,
                    duplicateEffects: duplicates, concurrentRuns: provider.overlaps.count, tenantMismatches: nil, seed: seed,
                    seconds: GuaranteeReport.seconds(since: began),
                    holds: lost == 0 && duplicates == 0 && provider.overlaps.isEmpty && resets >= 3,
                    notes: "\(GuaranteeReport.singleTenant); duplicate effects: jobs completed twice or rerun with no attempt that did not succeed; \(twice.count) jobs ran again after an attempt recorded lost or interrupted (at-least-once); each fault resets every connection"
                ).append()
            }
        }
    }
}
