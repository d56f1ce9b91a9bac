import Foundation
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

/// Counts the job bodies running at once, in total and per partition key, and the order in
/// which each key's jobs started. A body runs strictly inside its job's `running` interval in the
/// store (after the claim committed, before the finish), so what it sees is a lower bound of what
/// the store counts: a body overlap above the limit proves the store let the limit be exceeded.
final class ConcurrencyProbe: Sendable {
    private struct State {
        var running = 0
        var perKey: [String: Int] = [:]
        var maxRunning = 0
        var maxPerKey = 0
        var starts: [String: [Int]] = [:]
        var done = 0
    }
    private let state = Mutex(State())

    func start(key: String, seq: Int) {
        state.withLock { state in
            state.running += 1
            state.perKey[key, default: 0] += 1
            state.maxRunning = max(state.maxRunning, state.running)
            state.maxPerKey = max(state.maxPerKey, state.perKey[key]!)
            state.starts[key, default: []].append(seq)
        }
    }

    func end(key: String) {
        state.withLock { state in
            state.running -= 1
            state.perKey[key, default: 0] -= 1
            state.done += 1
        }
    }

    var maxRunning: Int { state.withLock { $0.maxRunning } }
    var maxPerKey: Int { state.withLock { $0.maxPerKey } }
    var done: Int { state.withLock { $0.done } }
    var starts: [String: [Int]] { state.withLock { $0.starts } }
}

/// A job that holds its slot for a few milliseconds (work, not synchronisation) and reports to
/// the probe. With `holdForOverlap`, it instead holds its slot until the probe has seen more than
/// 3 jobs and 2 of one key running at once (or 20 s pass): the control run then shows the overlap
/// however slowly a loaded machine starts jobs, instead of depending on 4 ms windows meeting.
struct ProbeJob: Job {
    static let name = "test.probe"
    static let options = JobOptions(queue: "limited", maxAttempts: 3)
    var key: String
    var seq: Int
    var holdForOverlap = false
    var partitionKey: String? { key }

    func run(_ context: JobContext) async throws {
        let probe = try context.dependency(ConcurrencyProbe.self)
        probe.start(key: key, seq: seq)
        defer { probe.end(key: key) }
        if holdForOverlap {
            try? await eventually("overlap", timeout: .seconds(20), pollEvery: .milliseconds(2)) {
                probe.maxRunning > 3 && probe.maxPerKey > 1
            }
        } else {
            try await Task.sleep(for: .milliseconds(4))
        }
    }
}

@Suite("PostgreSQL flow control across nodes", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresFlowControlTests {
    /// Two stores (two connection pools: two nodes to the server), each with its own worker of
    /// 8 slots, drain 160 jobs of 8 keys from a queue limited to 3 running jobs and 1 per key.
    func drain(limits: QueueLimits?, holdForOverlap: Bool = false) async throws -> (probe: ConcurrencyProbe, workers: Set<String>) {
        try await TestServer.withFreshStore { store in
            if let limits { try await store.setQueueLimits(limits) }
            let queue = JobQueue(store: store)
            let keys = (0..<8).map { "acct-\($0)" }
            let jobs = (0..<20).flatMap { seq in keys.map { ProbeJob(key: $0, seq: seq, holdForOverlap: holdForOverlap) } }
            _ = try await queue.enqueue(jobs, tenant: .system)
            let probe = ConcurrencyProbe()
            var dependencies = JobDependencies()
            dependencies.register(probe)
            let registry = JobRegistry([ProbeJob.self])
            let logs = LogCapture()
            return try await TestServer.withSecondStore(of: store) { second in
                let workers = [store, second].enumerated().map { index, node in
                    Worker(store: node, registry: registry, configuration: WorkerConfiguration(
                        queues: ["limited"], concurrency: 8, pollInterval: .milliseconds(5), workerID: "node-\(index)"
                    ), dependencies: dependencies, logger: logs.logger(level: .warning))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in workers { group.addTask { try await worker.run() } }
                    try await eventually("all 160 jobs completed", timeout: .seconds(60)) {
                        let completed = try await store.counts().filter { $0.state == .completed }.reduce(0) { $0 + $1.count }
                        return completed == 160
                    }
                    for worker in workers { worker.beginDrain() }
                    try await group.waitForAll()
                }
                let records = try await store.jobs(JobFilter(states: [.completed], limit: 1000))
                return (probe, Set(records.compactMap(\.attemptedBy)))
            }
        }
    }

    @Test("two nodes never exceed a queue's concurrency limit nor its per-key limit together; each key runs in enqueue order")
    func twoNodesRespectLimits() async throws {
        let (probe, workers) = try await drain(limits: try QueueLimits(queue: "limited", concurrency: 3, concurrencyPerKey: 1))
        #expect(probe.done == 160)
        #expect(workers == ["node-0", "node-1"], "both nodes claimed jobs")
        #expect(probe.maxRunning <= 3, "at most 3 jobs of the queue ran at once across both nodes, saw \(probe.maxRunning)")
        #expect(probe.maxPerKey == 1, "at most one job per key ran at once, saw \(probe.maxPerKey)")
        for (key, starts) in probe.starts {
            #expect(starts == Array(0..<20), "\(key)'s jobs started in enqueue order: \(starts)")
        }
    }

    @Test("without limits the same run overlaps jobs of one key (the limit test can fail)")
    func withoutLimitsTheyOverlap() async throws {
        let (probe, _) = try await drain(limits: nil, holdForOverlap: true)
        #expect(probe.done == 160)
        #expect(probe.maxRunning > 3, "16 slots run more than 3 at once without limits, saw \(probe.maxRunning)")
        #expect(probe.maxPerKey > 1, "and several jobs of one key, saw \(probe.maxPerKey)")
    }

    @Test("a limit set on one node applies on another after its refresh interval")
    func limitsReachOtherNodes() async throws {
        try await TestServer.withFreshStore { store in
            try await TestServer.withSecondStore(of: store) { second in
                let t0 = Date(timeIntervalSince1970: 1_800_000_000)
                _ = try await second.enqueue((0..<10).map { _ in NewJob.test(queue: "late") })
                // The second node reads (no) limits at t0 and caches them.
                #expect(try await second.queueLimits().isEmpty)
                _ = try await second.claim(ClaimRequest(queues: ["other"], limit: 1, worker: "n2", now: t0, leaseUntil: t0.addingTimeInterval(30)))
                try await store.setQueueLimits(try QueueLimits(queue: "late", concurrency: 2))
                let after = try await second.claim(ClaimRequest(queues: ["late"], limit: 10, worker: "n2", now: t0.addingTimeInterval(1.5), leaseUntil: t0.addingTimeInterval(60)))
                #expect(after.count == 2, "after the refresh interval the second node enforces the new limit, claimed \(after.count)")
                let fromFirst = try await store.claim(ClaimRequest(queues: ["late"], limit: 10, worker: "n1", now: t0.addingTimeInterval(1.5), leaseUntil: t0.addingTimeInterval(60)))
                #expect(fromFirst.isEmpty, "and the first node sees the 2 running on the second, claimed \(fromFirst.count)")
            }
        }
    }
}
