import Foundation
import GRDB
import Surety
import SuretyCLI
import SuretySQLite
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chaos: three real worker processes share one store (an SQLite file, or a PostgreSQL schema)
/// while the test SIGKILLs a random one every few hundred milliseconds and starts a replacement.
/// Afterwards the database (never a worker's counters) must show that no job was lost or stuck,
/// no job completed twice, no email went twice or to another tenant, and no money was created,
/// destroyed or moved twice.
///
/// Robust under machine load: each victim is killed only once it has started an attempt (awaited,
/// bounded), the kill loop runs until both its duration and its minimum kill count are reached
/// (bounded by a hard deadline), and the drain waits for the database to show every job finished
/// (generous deadline), not for a fixed time.
///
/// Reproduce a run with `SURETY_CHAOS_SEED=<seed>` (the seed is printed).
@Suite("Chaos (multi-process, SIGKILL)")
struct ChaosTests {
    static let tenants = ["acme", "globex", "initech", "umbrella"]
    static let jobCount = 2000
    /// SQLite's workers drain faster than the kill loop's pace (a kill every 0.5–1 s): 2,000 jobs
    /// were done after 8 kills once its writes were group-committed, so SQLite gets more work,
    /// enough to outlast ``minimumKills`` and most of ``chaosDuration``.
    static func jobCount(for kind: DemoStoreTarget.Kind) -> Int { kind == .sqlite ? 6000 : jobCount }
    static let chaosDuration: Duration = .seconds(20)
    static let minimumKills = 12
    /// The kill loop stops here even when it has not reached ``minimumKills`` (then the test fails).
    static let chaosDeadline: Duration = .seconds(120)
    static let drainDeadline: Duration = .seconds(240)

    @Test("random SIGKILLs of worker processes on SQLite lose no job, send no email twice and conserve money")
    func chaos() async throws {
        try await Self.run(.sqlite)
    }

    @Test("random SIGKILLs of worker processes on PostgreSQL lose no job, send no email twice and conserve money", .enabled(if: PGServer.enabled))
    func chaosOnPostgres() async throws {
        try await Self.run(.postgres)
    }

    static func run(_ kind: DemoStoreTarget.Kind) async throws {
        let name = "ChaosTests.chaos[\(kind)]"
        let seed = ProcessInfo.processInfo.environment["SURETY_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
        print("\(name): seed \(seed) (rerun with SURETY_CHAOS_SEED=\(seed))")
        var random = ChaosRandom(seed: seed)
        let dir = try TempDir()
        try await DemoStoreTarget.with(kind, dir: dir) { target in
            // 1. The workload, in one transaction.
            let jobs = try Self.workload(&random, count: Self.jobCount(for: kind))
            let inserted = try await target.store.enqueue(jobs)
            let enqueued = Set(inserted.filter(\.inserted).map(\.id))
            try #require(enqueued.count == jobs.count)

            // 2. Three workers, killed and replaced at random.
            let workers = ChaosWorkers(dir: dir, url: target.url)
            defer { workers.killAll() }
            for _ in 0..<3 { try workers.start() }
            let chaosStart = ContinuousClock.now
            var kills = 0
            var unfinished = try await target.unfinished()
            while unfinished > 0, ContinuousClock.now - chaosStart < Self.chaosDeadline,
                  kills < Self.minimumKills || ContinuousClock.now - chaosStart < Self.chaosDuration {
                // The pause is the chaos (seeded); what follows awaits conditions.
                try await Task.sleep(for: .milliseconds(Int.random(in: 150...500, using: &random)))
                let victim = workers.removeRandom(using: &random)
                try await eventually("\(victim.name) started an attempt (or every job finished)", timeout: .seconds(90), every: .milliseconds(100)) {
                    if victim.stderr.contains("job attempt started") { return true }
                    return try await target.unfinished() == 0
                }
                victim.process.send(SIGKILL)
                _ = try await victim.process.waitForExit(timeout: .seconds(60))
                kills += 1
                try workers.start()
                unfinished = try await target.unfinished()
            }
            let chaosTime = ContinuousClock.now - chaosStart

            // 3. The survivors finish (awaited, with a generous deadline), then stop gracefully.
            let drainStart = ContinuousClock.now
            var drainError: (any Error)?
            do {
                try await eventually("every job is finished", timeout: Self.drainDeadline, every: .milliseconds(250)) {
                    unfinished = try await target.unfinished()
                    return unfinished == 0
                }
            } catch {
                drainError = error
            }
            let drained = ContinuousClock.now - drainStart
            let survivors = workers.all()
            for worker in survivors { worker.process.send(SIGTERM) }
            var cleanExits = 0
            for worker in survivors {
                if try await worker.process.waitForExit(timeout: .seconds(60)) == 0 { cleanExits += 1 }
            }

            // 4. Check the database.
            let records = try await target.allJobs()
            let other = records.filter { $0.state != .completed && $0.state != .dead }
            let dead = records.filter { $0.state == .dead }
            let deadWithoutReason = dead.filter { $0.deadReason == nil }
            let attempts = try await target.attempts()
            let lostAttempts = attempts.filter { $0.outcome == "lost" }.count
            let ledger = try await DemoLedgerCheck.run(target, records: records, logs: workers.everyone().map(\.stderr))

            let deadReasons = Dictionary(grouping: dead) { $0.deadReason?.rawValue ?? "none" }.mapValues(\.count)
                .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("""
                \(name): seed \(seed): \(enqueued.count) jobs; \(kills) SIGKILLs in \(chaosTime), \(workers.started) worker processes in all; \
                drained in \(drained) (\(cleanExits) of \(survivors.count) survivors exited 0 on SIGTERM)
                  jobs: \(ledger.completed) completed + \(dead.count) dead (\(deadReasons)) + \(other.count) other; \(lostAttempts) attempts lost to kills
                \(ledger.summary)
                """)

            #expect(drainError == nil, "\(drainError.map { "\($0)" } ?? "")")
            #expect(records.count == enqueued.count && Set(records.map(\.id)) == enqueued, "every enqueued job is in the store")
            #expect(unfinished == 0 && other.isEmpty, "stuck or lost: \(other.prefix(10).map { "\($0.id) \($0.type) \($0.state.rawValue)" })")
            #expect(deadWithoutReason.isEmpty, "dead without a reason: \(deadWithoutReason.prefix(10).map(\.id))")
            #expect(ledger.completedTwice.isEmpty, "jobs completed twice: \(ledger.completedTwice.prefix(10))")
            #expect(ledger.completionsLogged > 0, "the workers' logs show completions")
            #expect(ledger.emailProblems.isEmpty, "\(ledger.emailProblems.prefix(10))")
            #expect(ledger.moneyProblems.isEmpty, "\(ledger.moneyProblems.prefix(10))")
            #expect(kills >= Self.minimumKills, "the chaos loop killed workers")
            #expect(lostAttempts > 0, "some kills hit running jobs")
        }
    }

    /// `count` mixed demo jobs for several tenants (default ``jobCount``).
    static func workload(_ random: inout ChaosRandom, count: Int = jobCount) throws -> [NewJob] {
        let tenants = try Self.tenants.map { try TenantID($0) }
        let now = Date()
        var jobs: [NewJob] = []
        func add<J: Job>(_ job: J, tenant: TenantID) throws {
            let options = J.options
            jobs.append(NewJob(
                type: J.name, queue: options.queue, priority: options.priority, tenant: tenant,
                payload: try JobCoding.encode(job), runAt: now, enqueuedAt: now, maxAttempts: options.maxAttempts,
                uniqueKey: nil, uniqueScope: options.uniqueScope, tags: ["chaos"], correlation: [:]
            ))
        }
        for _ in 0..<count {
            let tenant = tenants.randomElement(using: &random)!
            let pick = Int.random(in: 0..<100, using: &random)
            switch pick {
            case 0..<30:
                let user = Int.random(in: 1...300, using: &random)
                try add(DemoEmail(to: "user\(user)@\(tenant.rawValue).example", subject: "Chaos \(user)"), tenant: tenant)
            case 30..<55:
                let from = Int.random(in: 1...5, using: &random)
                var to = Int.random(in: 1...4, using: &random)
                if to >= from { to += 1 }
                let amount = Int.random(in: 0..<100, using: &random) < 3 ? 5000 : Int.random(in: 5...150, using: &random)
                try add(DemoPayment(from: "acct-\(from)", to: "acct-\(to)", amount: amount), tenant: tenant)
            case 55..<75:
                try add(DemoFlaky(transientRate: 0.3, permanentRate: 0.03), tenant: tenant)
            case 75..<90:
                try add(DemoNoop(), tenant: tenant)
            default:
                try add(DemoSleep(milliseconds: Int.random(in: 20...300, using: &random)), tenant: tenant)
            }
        }
        return jobs
    }
}

/// SplitMix64, seeded (the test's own choices: workload, victims, pauses).
struct ChaosRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return DemoRandom.mix(state)
    }
}

/// A named worker process.
struct ChaosWorker: Sendable {
    var name: String
    var process: SuretyProcess
    var stderr: String { process.stderr }
}

/// The multi-process tests' worker processes: every one ever started is killed on every path.
final class ChaosWorkers: Sendable {
    let dir: TempDir
    let url: String
    let prefix: String
    let arguments: [String]
    private let state = Mutex<(running: [ChaosWorker], everything: [ChaosWorker])>(([], []))

    /// - Parameter arguments: more `surety worker` arguments. Default: none.
    init(dir: TempDir, url: String, prefix: String = "chaos", arguments: [String] = []) {
        self.dir = dir
        self.url = url
        self.prefix = prefix
        self.arguments = arguments
    }

    var started: Int { state.withLock { $0.everything.count } }

    @discardableResult
    func start() throws -> ChaosWorker {
        let name = "\(prefix)-\(started + 1)"
        let process = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--lease-seconds", "2", "--rescue-interval-seconds", "1",
            "--poll-interval-ms", "100", "--worker-id", name, "--shutdown-grace-seconds", "10",
        ] + arguments, in: dir, name: name)
        let worker = ChaosWorker(name: name, process: process)
        state.withLock {
            $0.running.append(worker)
            $0.everything.append(worker)
        }
        return worker
    }

    func removeRandom(using random: inout ChaosRandom) -> ChaosWorker {
        let count = state.withLock { $0.running.count }
        let index = Int.random(in: 0..<count, using: &random)
        return state.withLock { $0.running.remove(at: index) }
    }

    /// Takes `worker` out of the running set (the caller kills it).
    func remove(_ worker: ChaosWorker) {
        state.withLock { $0.running.removeAll { $0.name == worker.name } }
    }

    func all() -> [ChaosWorker] { state.withLock { $0.running } }

    /// Every worker ever started, killed ones included.
    func everyone() -> [ChaosWorker] { state.withLock { $0.everything } }

    func killAll() {
        for worker in state.withLock({ $0.everything }) { worker.process.killIfRunning() }
    }
}
