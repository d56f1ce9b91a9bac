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

/// Flow control and schedules across real `surety worker` processes on one PostgreSQL schema
/// (issue 7 point 9): two nodes never exceed a limit together, and two schedulers make exactly
/// one job per cron slot. Every check reads the database.
@Suite("Global limits and schedules across worker processes on PostgreSQL", .enabled(if: PGServer.enabled))
struct PostgresGlobalLimitsTests {
    /// Enqueues `count` `demo.sleep` jobs into `queue`.
    static func enqueueSleeps(_ store: any JobStore, queue: String, count: Int, milliseconds: Int, gauge: String?) async throws -> [JobID] {
        let now = Date()
        let tenant = try TenantID("acme")
        return try await store.enqueue(try (0..<count).map { _ in
            NewJob(
                type: DemoSleep.name, queue: queue, priority: 0, tenant: tenant,
                payload: try JobCoding.encode(DemoSleep(milliseconds: milliseconds, gauge: gauge)), runAt: now, enqueuedAt: now,
                maxAttempts: 5, uniqueKey: nil, uniqueScope: .forever, tags: [], correlation: [:]
            )
        }).map(\.id)
    }

    /// Starts `count` workers and awaits that each one's worker loop runs.
    static func startWorkers(_ workers: ChaosWorkers, count: Int) async throws -> [ChaosWorker] {
        let started = try (0..<count).map { _ in try workers.start() }
        for worker in started {
            try await eventually("\(worker.name) started", timeout: .seconds(120)) { worker.stderr.contains("worker started") }
        }
        return started
    }

    static func stop(_ workers: [ChaosWorker]) async throws {
        for worker in workers { worker.process.send(SIGTERM) }
        for worker in workers {
            #expect(try await worker.process.waitForExit(timeout: .seconds(60)) == 0, "\(worker.name): \(worker.stderr.suffix(2000))")
        }
    }

    /// Each process has 2 slots, so one alone cannot reach the limit of 3 (both must run jobs),
    /// and together they could run 4 without the store's global limit.
    @Test("two worker processes with 2 slots each never run more than a queue's global concurrency limit of 3 together")
    func concurrencyLimitAcrossProcesses() async throws {
        let dir = try TempDir()
        try await DemoStoreTarget.with(.postgres, dir: dir) { target in
            let set = try await CLI.run(["limits", "set", "limited", "--store", target.url, "--concurrency", "3"], in: dir)
            try #require(set.status == 0, "\(set)")
            let workers = ChaosWorkers(dir: dir, url: target.url, prefix: "limit", arguments: ["--queue", "limited", "--concurrency", "2"])
            defer { workers.killAll() }
            let nodes = try await Self.startWorkers(workers, count: 2)
            let ids = try await Self.enqueueSleeps(target.store, queue: "limited", count: 40, milliseconds: 300, gauge: "limited")

            try await eventually("all 40 jobs completed", timeout: .seconds(240), every: .milliseconds(200)) {
                try await target.store.jobs(JobFilter(states: [.completed], queues: ["limited"], limit: 1000)).count == ids.count
            }
            try await Self.stop(nodes)

            let gauge = try #require(try await target.tables.gauges().first { $0.name == "limited" })
            let byWorker = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, DemoLedgerCheck.completions(in: [$0.stderr]).count) })
            print("PostgresGlobalLimitsTests.concurrency: peak \(gauge.peak) running at once (limit 3), \(gauge.runs) runs; by worker \(byWorker)")
            #expect(gauge.runs == ids.count)
            #expect(gauge.running == 0)
            #expect(gauge.peak <= 3, "the two workers ran \(gauge.peak) jobs at once; the global limit is 3")
            #expect(gauge.peak == 3, "the limit was reached (jobs did overlap), so the check could fail")
            #expect(byWorker.values.reduce(0, +) == ids.count && byWorker.values.allSatisfy { $0 > 0 }, "both processes ran jobs: \(byWorker)")
        }
    }

    /// Each process has 2 slots and jobs of 250 ms, so one alone runs at most 8 jobs/s (both must
    /// claim) and together 16/s: above the limit, which only the store's shared bucket holds.
    @Test("two worker processes together respect a queue's global rate limit of 10/s (burst 2)")
    func rateLimitAcrossProcesses() async throws {
        let dir = try TempDir()
        try await DemoStoreTarget.with(.postgres, dir: dir) { target in
            let set = try await CLI.run(["limits", "set", "rated", "--store", target.url, "--rate", "10/s", "--burst", "2"], in: dir)
            try #require(set.status == 0, "\(set)")
            let workers = ChaosWorkers(dir: dir, url: target.url, prefix: "rate", arguments: ["--queue", "rated", "--concurrency", "2"])
            defer { workers.killAll() }
            let nodes = try await Self.startWorkers(workers, count: 2)
            let count = 40
            let ids = try await Self.enqueueSleeps(target.store, queue: "rated", count: count, milliseconds: 250, gauge: nil)

            try await eventually("all jobs completed", timeout: .seconds(240), every: .milliseconds(200)) {
                try await target.store.jobs(JobFilter(states: [.completed], queues: ["rated"], limit: 1000)).count == ids.count
            }
            try await Self.stop(nodes)

            // Claim times, as the store recorded them (the time the token bucket was charged).
            var starts: [Date] = []
            var workersSeen: Set<String> = []
            for id in ids {
                for attempt in try await target.store.attempts(of: id) {
                    starts.append(attempt.startedAt)
                    workersSeen.insert(attempt.worker)
                }
            }
            starts.sort()
            let span = starts.last!.timeIntervalSince(starts.first!)
            var busiestSecond = 0
            for (index, start) in starts.enumerated() {
                busiestSecond = max(busiestSecond, starts[index...].prefix { $0.timeIntervalSince(start) < 1 }.count)
            }
            // 40 claims at 10/s after a burst of 2 take at least 3.8 s; one bucket per node
            // would let the two processes' 16 jobs/s through (2.5 s).
            let minimum = Double(count - 2) / 10
            print("PostgresGlobalLimitsTests.rate: \(starts.count) claims over \(span) s (at least \(minimum) s at 10/s burst 2); busiest second \(busiestSecond); workers \(workersSeen.sorted())")
            #expect(starts.count == count)
            #expect(span >= minimum - 0.2, "\(count) claims in \(span) s exceed 10/s with burst 2")
            #expect(busiestSecond <= 2 + 10 + 1, "\(busiestSecond) claims within one second")
            #expect(workersSeen.count == 2, "both processes claimed jobs: \(workersSeen)")
        }
    }

    @Test("two worker processes running the same every-second schedule make exactly one job per slot")
    func oneJobPerCronSlot() async throws {
        let dir = try TempDir()
        try await DemoStoreTarget.with(.postgres, dir: dir) { target in
            let workers = ChaosWorkers(dir: dir, url: target.url, prefix: "cron", arguments: ["--schedule", "tick|* * * * * *|demo.noop||allow"])
            defer { workers.killAll() }
            let nodes = try await Self.startWorkers(workers, count: 2)
            for node in nodes {
                try await eventually("\(node.name) runs the scheduler", timeout: .seconds(60)) { node.stderr.contains("scheduler started") }
            }
            let filter = JobFilter(tag: "schedule:tick", limit: 1000)
            try await eventually("ten slots have jobs", timeout: .seconds(120), every: .milliseconds(200)) {
                try await target.store.jobs(filter).count >= 10
            }
            try await Self.stop(nodes)

            let jobs = try await target.store.jobs(filter)
            let slots = jobs.compactMap { $0.correlation["schedule_slot"] }
            let slotTimes = slots.compactMap { try? Date($0, strategy: .iso8601) }.sorted()
            let perSlot = Dictionary(grouping: slots, by: { $0 }).mapValues(\.count)
            let first = try #require(slotTimes.first)
            let last = try #require(slotTimes.last)
            let expected = Int(last.timeIntervalSince(first).rounded()) + 1
            print("PostgresGlobalLimitsTests.cron: \(jobs.count) jobs for \(perSlot.count) slots from \(first) to \(last)")
            #expect(slots.count == jobs.count, "every job names its slot")
            #expect(perSlot.values.allSatisfy { $0 == 1 }, "a slot with two jobs: \(perSlot.filter { $0.value > 1 })")
            #expect(perSlot.count == expected, "every second from the first slot to the last has its job: \(perSlot.count) of \(expected)")
            #expect(Set(jobs.compactMap(\.uniqueKey)).count == jobs.count)
            let stored = try #require(try await (target.store as? any ScheduleStore)?.schedules().first)
            #expect(stored.definition.name == "tick" && stored.definition.overlap == "allow")
        }
    }
}
