import Foundation
import Surety
import SuretyCLI
import SuretyPostgres
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Several real `surety worker` processes on one PostgreSQL schema (issue 4 point 5). Every check
/// reads the database, never a worker's counters.
@Suite("Multi-node on PostgreSQL (worker processes, SIGKILL)", .enabled(if: PGServer.enabled))
struct PostgresMultiNodeTests {
    static let jobCount = 3000
    static let leaseSeconds = 5.0

    @Test("three worker processes drain 3,000 jobs while one is SIGKILLed: nothing lost, nothing completed or performed twice, its jobs rescued after their lease")
    func threeWorkersOneKilled() async throws {
        let seed = ProcessInfo.processInfo.environment["SURETY_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
        print("PostgresMultiNodeTests.threeWorkersOneKilled: seed \(seed) (rerun with SURETY_CHAOS_SEED=\(seed))")
        var random = ChaosRandom(seed: seed)
        let dir = try TempDir()
        try await DemoStoreTarget.with(.postgres, dir: dir) { target in
            let store = target.store
            let queues = (DemoJobs.queues + ["victim"]).flatMap { ["--queue", $0] }
            let workers = ChaosWorkers(dir: dir, url: target.url, prefix: "node", arguments: ["--lease-seconds", "\(Self.leaseSeconds)"] + queues)
            defer { workers.killAll() }

            // 1. The victim starts first and takes five long jobs (10 minutes on their first
            //    attempt, instant on a later one) from a queue only it is watching yet: when it is
            //    killed it certainly holds running jobs.
            let victim = try workers.start()
            let now = Date()
            let sleepers = try await store.enqueue((0..<5).map { index in
                NewJob(
                    type: DemoSleep.name, queue: "victim", priority: 0, tenant: try TenantID("acme"),
                    payload: try JobCoding.encode(DemoSleep(milliseconds: 600_000, attempts: 1)), runAt: now, enqueuedAt: now,
                    maxAttempts: 5, uniqueKey: "sleeper-\(index)", uniqueScope: .forever, tags: [], correlation: [:]
                )
            }).map(\.id)
            try await eventually("the victim runs the five long jobs", timeout: .seconds(120)) {
                let running = try await store.jobs(JobFilter(states: [.running], queues: ["victim"]))
                return running.count == 5 && running.allSatisfy { $0.attemptedBy == victim.name }
            }

            // 2. The workload, then two more workers.
            let jobs = try ChaosTests.workload(&random, count: Self.jobCount)
            let enqueued = Set(try await store.enqueue(jobs).filter(\.inserted).map(\.id)).union(sleepers)
            try #require(enqueued.count == Self.jobCount + sleepers.count)
            try workers.start()
            try workers.start()

            // 3. Kill the victim with SIGKILL once the run is well under way.
            try await eventually("a fifth of the workload is finished", timeout: .seconds(240), every: .milliseconds(100)) {
                try await target.unfinished() <= enqueued.count * 4 / 5
            }
            workers.remove(victim)
            victim.process.send(SIGKILL)
            #expect(try await victim.process.waitForExit() == SIGKILL)
            let killedAt = Date()
            let held = try await store.jobs(JobFilter(states: [.running])).filter { $0.attemptedBy == victim.name }
            #expect(Set(sleepers).isSubset(of: Set(held.map(\.id))), "the victim held its long jobs when it was killed")

            // 4. The survivors finish everything (awaited; the deadline is generous), then stop.
            try await eventually("every job is finished", timeout: .seconds(300), every: .milliseconds(250)) {
                try await target.unfinished() == 0
            }
            for worker in workers.all() { worker.process.send(SIGTERM) }
            for worker in workers.all() {
                #expect(try await worker.process.waitForExit(timeout: .seconds(60)) == 0, "\(worker.name) stops gracefully: \(worker.stderr.suffix(2000))")
            }

            // 5. The database.
            let records = try await target.allJobs()
            let ledger = try await DemoLedgerCheck.run(target, records: records, logs: workers.everyone().map(\.stderr))
            let other = records.filter { $0.state != .completed && $0.state != .dead }
            print("""
                PostgresMultiNodeTests.threeWorkersOneKilled: seed \(seed): \(records.count) jobs, \(ledger.completed) completed, \
                \(records.filter { $0.state == .dead }.count) dead; the victim held \(held.count) running jobs when killed
                \(ledger.summary)
                """)
            #expect(records.count == enqueued.count && Set(records.map(\.id)) == enqueued, "every enqueued job is in the store")
            #expect(other.isEmpty, "stuck: \(other.prefix(10).map { "\($0.id) \($0.state.rawValue)" })")
            #expect(records.filter { $0.state == .dead && $0.deadReason == nil }.isEmpty)
            #expect(ledger.completedTwice.isEmpty, "jobs completed twice: \(ledger.completedTwice.prefix(10))")
            #expect(ledger.completionsLogged > 0, "the workers' logs show completions")
            #expect(ledger.emailProblems.isEmpty, "\(ledger.emailProblems.prefix(10))")
            #expect(ledger.moneyProblems.isEmpty, "\(ledger.moneyProblems.prefix(10))")

            // Each job the victim held was rescued only after its lease expired, then finished
            // by a surviving worker; the victim's attempt is recorded lost.
            for job in held {
                let history = try await store.attempts(of: job.id)
                let lost = history.first { $0.worker == victim.name && $0.outcome == .lost }
                #expect(lost != nil, "job \(job.id): the victim's attempt is recorded lost: \(history)")
                if let lost, let leaseUntil = job.leaseUntil, let rescuedAt = lost.endedAt {
                    #expect(rescuedAt >= leaseUntil.addingTimeInterval(-0.001), "job \(job.id) rescued at \(rescuedAt), before its lease ended at \(leaseUntil)")
                    #expect(rescuedAt >= killedAt.addingTimeInterval(-Self.leaseSeconds), "job \(job.id)")
                }
                let after = history.filter { $0.attempt > (lost?.attempt ?? Int.max) }
                #expect(!after.isEmpty && after.allSatisfy { $0.worker != victim.name }, "job \(job.id) finished by a survivor: \(history)")
                #expect(try await store.job(job.id)?.state.isTerminal == true)
            }
            for id in sleepers { #expect(try await store.job(id)?.state == .completed, "long job \(id) completed on its second attempt") }
        }
    }
}
