import Foundation
import Logging
import PostgresNIO
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

// Issue 17, network faults: a slow network between a worker and PostgreSQL (FaultProxy's
// `delay(_:)`), with a lease short enough that some claims are answered after the worker's margin
// before the lease's end. Such a claim must not start its body (Worker.execute: `armTimeout`
// returns `leaseEnding`): the attempt is released as LeaseNotRenewed, or rescued, and never lost.
// Runs are observed by the recording provider of PartitionTests.swift, not inferred from leases.

private func isAttemptStarted(_ event: WorkerEvent) -> Bool {
    if case .attemptStarted = event { return true }
    return false
}

private func isRescue(_ event: WorkerEvent) -> Bool {
    if case .rescued = event { return true }
    return false
}

/// A count shared with the task that sets the latency.
private final class WindowCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

@Suite(
    "PostgreSQL slow network through a TCP proxy",
    .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"),
    .timeLimit(.minutes(3))
)
struct SlowNetworkTests {
    /// Two stores on one fresh schema, node A's through `proxy` with an operation timeout long
    /// enough for every answer to arrive (late, not never: this test is about late answers),
    /// node B's directly; the schema is dropped afterwards through node B.
    func withNodes<T>(proxy: FaultProxy, loggerA: Logger, _ body: (_ nodeA: PostgresStore, _ nodeB: PostgresStore) async throws -> T) async throws -> T {
        var direct = try PostgresStore.Configuration(url: try TestServer.requireURL(), schema: TestServer.freshSchema())
        direct.maximumConnections = 6
        var viaProxy = direct
        viaProxy.host = "127.0.0.1"
        viaProxy.port = proxy.port
        viaProxy.operationTimeout = .seconds(20)
        return try await PostgresStore.withStore(configuration: viaProxy, logger: loggerA) { nodeA in
            try await nodeA.migrate()
            return try await PostgresStore.withStore(configuration: direct) { nodeB in
                do {
                    let value = try await body(nodeA, nodeB)
                    try await TestServer.dropSchema(nodeB)
                    return value
                } catch {
                    proxy.delay(.zero)
                    try? await TestServer.dropSchema(nodeB)
                    throw error
                }
            }
        }
    }

    /// Node A reaches PostgreSQL through the proxy, whose latency changes every 2 s to a seeded
    /// 300–800 ms each way, so a round trip takes 0.6–1.6 s. A claim takes three (the queue
    /// limits, read again when older than a second; the claim; the barrier that confirms its
    /// commit), more when it opens a connection, prepares its statement on one or waits for the
    /// CPU: 1.8–4.8 s and up. The lease is 4 s: the worker stops an attempt whose lease it has not
    /// renewed a sixth of the lease (667 ms) before the lease can end, 3.33 s after the claim or
    /// heartbeat was sent. So a claim in a window slower than about 560 ms each way is answered
    /// too late and must not start its body, and one in a faster window leaves its body up to
    /// 1.5 s, against jobs of 50–350 ms: some end, some are stopped. Node B, direct, rescues
    /// expired leases and runs jobs too (one at a time), so a job node A lost runs elsewhere while
    /// node A may still believe it holds it.
    @Test("a slow network (300–800 ms each way, seeded) between a worker and PostgreSQL with a 4 s lease: a claim answered too late starts no body, no job runs twice at once, none is lost, every job completes")
    func slowNetwork() async throws {
        let url = try TestServer.requireURL()
        let upstream = try FaultProxy.upstream(of: url)
        let seed = ProcessInfo.processInfo.environment["SURETY_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        say("slow network: seed \(seed) (SURETY_TEST_SEED=\(seed) repeats it)")
        var random = SeededGenerator(state: seed)
        let lease: Duration = .seconds(4)
        let window: Duration = .seconds(2)
        let initialJobs = 40
        let waves = 4
        let waveJobs = 10
        let total = initialJobs + waves * waveJobs
        // Drawn up front, so that the seed alone decides them: each job's length and the latency
        // of each 2 s window (enough windows for the test's time limit).
        let lengths = (0..<total).map { _ in Double(Int.random(in: 50...350, using: &random)) / 1000 }
        let latencies = (0..<100).map { _ in Int.random(in: 300...800, using: &random) }
        let helpers = PartitionTests()
        let began = ContinuousClock.now

        try await FaultProxy.withFaultProxy(upstreamHost: upstream.host, upstreamPort: upstream.port) { proxy in
            let captureA = LogCapture()
            try await withNodes(proxy: proxy, loggerA: TraceLogHandler.logger(captureA, label: "surety.postgres.a", level: .info)) { nodeA, nodeB in
                let provider = PartitionProvider()
                var dependencies = JobDependencies()
                dependencies.register(provider)
                let registry = JobRegistry([PartitionSleepJob.self])
                let events = TimedEvents()
                // Node A does not rescue (its maintenance calls would crawl through the proxy);
                // node B does, every 500 ms.
                let workerA = Worker(
                    store: nodeA, registry: registry,
                    configuration: WorkerConfiguration(
                        concurrency: 8, leaseDuration: lease, pollInterval: .milliseconds(300),
                        rescueInterval: nil, shutdownGracePeriod: .seconds(10), workerID: "node-a", onEvent: events.recorder("node-a")
                    ),
                    dependencies: dependencies, logger: TraceLogHandler.logger(captureA, label: "surety.worker.a", level: .info)
                )
                let workerB = Worker(
                    store: nodeB, registry: registry,
                    configuration: WorkerConfiguration(
                        concurrency: 1, leaseDuration: lease, pollInterval: .milliseconds(300),
                        rescueInterval: .milliseconds(500), shutdownGracePeriod: .seconds(10), workerID: "node-b", onEvent: events.recorder("node-b")
                    ),
                    dependencies: dependencies, logger: LogCapture().logger(label: "surety.worker.b", level: .info)
                )
                let queue = JobQueue(store: nodeB, registry: registry)

                // The slow network, from now until both workers have stopped.
                let windows = WindowCount()
                let slow = Task {
                    for latency in latencies {
                        proxy.delay(.milliseconds(latency))
                        windows.add()
                        do { try await Task.sleep(for: window) } catch { return }
                    }
                }
                func heal() async {
                    slow.cancel()
                    await slow.value
                    proxy.delay(.zero)
                }

                var ids: [JobID] = []
                let start = ContinuousClock.now
                do {
                    try await helpers.withWorkers([workerA]) {
                        ids += try await queue.enqueue(lengths[0..<initialJobs].map { PartitionSleepJob(seconds: $0) }, tenant: .system).map(\.id)
                        // Node A alone first: its first claims also open its connections through
                        // the slow proxy.
                        try await eventuallyTrue("node A starts an attempt", timeout: .seconds(30)) {
                            events.all.contains { $0.1 == "node-a" && isAttemptStarted($0.2) }
                        }
                        try await helpers.withWorkers([workerB]) {
                            for wave in 0..<waves {
                                try await Task.sleep(for: .milliseconds(1500))
                                let from = initialJobs + wave * waveJobs
                                ids += try await queue.enqueue(lengths[from..<(from + waveJobs)].map { PartitionSleepJob(seconds: $0) }, tenant: .system).map(\.id)
                            }
                            let all = Set(ids)
                            try await eventuallyTrue("every job completes", timeout: .seconds(90)) {
                                guard Set(provider.runs.filter(\.succeeded).map(\.job)) == all else { return false }
                                return try await helpers.jobStates(nodeB) == ["completed": all.count]
                            }
                            phase("slow network: every job completed after \(String(format: "%.2f", GuaranteeReport.seconds(since: start))) s")
                        }
                    }
                } catch {
                    await heal()
                    throw error
                }
                await heal()

                // What the provider, the workers and the store saw.
                let runs = provider.runs
                let runsPerJob = Dictionary(grouping: runs, by: \.job)
                var historyOf: [JobID: [AttemptRecord]] = [:]
                for id in ids { historyOf[id] = try await nodeB.attempts(of: id) }
                let history = historyOf.values.flatMap { $0 }
                let historyOnA = history.filter { $0.worker == "node-a" }
                let startedOnA = events.all.filter { $0.1 == "node-a" && isAttemptStarted($0.2) }.count
                let runsOnA = runs.filter { $0.node == "node-a" }
                // Each attempt node A starts runs the body once, unless the claim's answer came
                // too late: the difference is the attempts whose body did not start.
                let neverStarted = startedOnA - runsOnA.count
                let stoppedOnA = runsOnA.filter { $0.ended != nil && !$0.succeeded }.count
                let releasedOnA = historyOnA.filter { $0.outcome == .interrupted && $0.error?.type == "LeaseNotRenewed" }.count
                let lostOnA = historyOnA.filter { $0.outcome == .lost }.count
                // Bodies that ended on node A whose outcome arrived after the job was rescued.
                let refusedOnA = max(0, runsOnA.filter(\.succeeded).count - historyOnA.filter { $0.outcome == .succeeded }.count)
                let rescues = events.all.filter { isRescue($0.2) }.count
                let outcomes = Dictionary(grouping: history, by: { $0.outcome?.rawValue ?? "running" }).mapValues(\.count)
                let ranAgain = runsPerJob.filter { $0.value.count > 1 }.count
                say("slow network: \(total) jobs, \(windows.value) windows of seeded latency; node A started \(startedOnA) attempts, ran \(runsOnA.count) bodies (\(runsOnA.filter(\.succeeded).count) succeeded, \(refusedOnA) of them with an outcome refused after a rescue, \(stoppedOnA) stopped), \(neverStarted) attempts whose claim was answered too late started no body; node B ran \(runs.count - runsOnA.count) bodies; \(rescues) rescues; node A's history: \(releasedOnA) released LeaseNotRenewed, \(lostOnA) lost; attempts by outcome \(outcomes.sorted { $0.key < $1.key }); \(ranAgain) jobs ran more than once; most concurrent runs of one job \(provider.maxConcurrentRunsOfOneJob)")
                let warnings = Dictionary(grouping: captureA.entries.filter { $0.level >= .warning }, by: \.message).mapValues(\.count)
                say("slow network: node A's warnings \(warnings.sorted { $0.key < $1.key })")

                // No job runs twice at once, on one node or on two.
                #expect(provider.overlaps.isEmpty, "runs of one job overlapped: \(provider.overlaps)")
                #expect(provider.maxConcurrentRunsOfOneJob == 1)
                // The slow network reached the path it is meant to: claims answered after the
                // lease's margin, whose bodies did not start; each such attempt is in the history,
                // released as LeaseNotRenewed or rescued as lost, like a stopped run of node A.
                #expect(neverStarted > 0, "no claim of node A was answered too late (seed \(seed)): the check before a body starts was not exercised")
                #expect(releasedOnA + lostOnA >= neverStarted + stoppedOnA,
                        "node A's attempts that did not start (\(neverStarted)) or were stopped (\(stoppedOnA)) are not all released or rescued in the history (\(releasedOnA) released, \(lostOnA) lost)")
                for id in ids {
                    let mine = runsPerJob[id] ?? []
                    let recorded = historyOf[id] ?? []
                    let summary = "job \(id): runs \(mine.map { "\($0.node)#\($0.attempt) \($0.succeeded ? "succeeded" : "stopped")" }); history \(recorded.map { "\($0.worker)#\($0.attempt) \($0.outcome?.rawValue ?? "running") \($0.error?.type ?? "")" })"
                    // Completed once, with its body run to the end at least once.
                    #expect(recorded.filter { $0.outcome == .succeeded }.count == 1, "\(summary)")
                    #expect(mine.contains { $0.succeeded }, "never ran to the end: \(summary)")
                    // Every run is an attempt in the history (attempts that never ran add more).
                    #expect(recorded.count >= mine.count, "runs missing from the history: \(summary)")
                    // A job runs again only after an attempt that did not succeed (at-least-once).
                    if mine.count > 1 {
                        #expect(recorded.contains { $0.outcome != .succeeded }, "ran \(mine.count) times with no attempt that did not succeed: \(summary)")
                    }
                }

                // The run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), from the counts above.
                let lost = ids.filter { id in
                    !(historyOf[id] ?? []).contains { $0.outcome == .succeeded } || !(runsPerJob[id] ?? []).contains(where: \.succeeded)
                }.count
                let duplicates = ids.filter { id in
                    let recorded = historyOf[id] ?? []
                    return recorded.filter { $0.outcome == .succeeded }.count > 1
                        || ((runsPerJob[id]?.count ?? 0) > 1 && !recorded.contains { $0.outcome != .succeeded })
                }.count
                let seconds = GuaranteeReport.seconds(since: began)
                GuaranteeReport(
                    fault: "slow network (300–800 ms each way), \(lease.components.seconds) s lease", jobs: total, faults: windows.value, lost: lost,
                    duplicateEffects: duplicates, concurrentRuns: provider.overlaps.count, tenantMismatches: nil, seed: seed, seconds: seconds,
                    holds: lost == 0 && duplicates == 0 && provider.overlaps.isEmpty && neverStarted > 0,
                    notes: "\(GuaranteeReport.singleTenant); faults: 2 s windows of seeded latency; duplicate effects: jobs completed twice or rerun with no attempt that did not succeed; node A: \(neverStarted) attempts whose claim was answered too late started no body, \(runsOnA.count) bodies ran (\(stoppedOnA) stopped before their lease could end, \(refusedOnA) ended with an outcome that came after a rescue), its history \(releasedOnA) released LeaseNotRenewed and \(lostOnA) rescued as lost; \(ranAgain) jobs ran again after an attempt recorded lost or interrupted (at-least-once)"
                ).append()
                say("slow network: seed \(seed); took \(String(format: "%.1f", seconds)) s")
            }
        }
    }
}
