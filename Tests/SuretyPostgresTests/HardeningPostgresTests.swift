import Foundation
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

/// PostgreSQL cannot store U+0000 in `text` or `jsonb` (issue 16, review item 1); leases do not
/// depend on node clocks (review item 2); a claim over several queues is all or nothing (item 8).
@Suite("PostgreSQL hardening (review items 1, 2, 8)", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct HardeningPostgresTests {
    final class Runs: Sendable {
        let counts = Mutex<[JobID: Int]>([:])
        func ran(_ id: JobID) { counts.withLock { $0[id, default: 0] += 1 } }
    }

    struct OkJob: Job {
        static let name = "test.pg-ok"
        var n: Int
        func run(_ context: JobContext) async throws { try context.dependency(Runs.self).ran(context.id) }
    }

    struct NulErrorJob: Job {
        static let name = "test.pg-nul-error"
        var recipient: String
        func run(_ context: JobContext) async throws {
            try context.dependency(Runs.self).ran(context.id)
            throw PermanentFailure("bad recipient \(recipient)")
        }
    }

    @Test("an error message with a NUL character is recorded; the worker keeps recording the other outcomes", .timeLimit(.minutes(1)))
    func nulInErrorMessage() async throws {
        try await TestServer.withFreshStore { store in
            let registry = JobRegistry([OkJob.self, NulErrorJob.self])
            let queue = JobQueue(store: store, registry: registry)
            let poison = try await queue.enqueue(NulErrorJob(recipient: "a\u{0}b@example.com"), tenant: .system).id
            var ids: [JobID] = []
            for n in 0..<40 { ids.append(try await queue.enqueue(OkJob(n: n), tenant: .system).id) }
            let runs = Runs()
            var dependencies = JobDependencies()
            dependencies.register(runs)
            let worker = Worker(store: store, registry: registry, configuration: WorkerConfiguration(
                concurrency: 8, pollInterval: .milliseconds(20), rescueInterval: nil, workerID: "pg-nul"
            ), dependencies: dependencies, logger: LogCapture().logger(level: .warning))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                try await eventually("every outcome recorded", timeout: .seconds(30)) {
                    let counts = try await store.counts()
                    return counts.filter { $0.state == .completed }.reduce(0) { $0 + $1.count } == 40
                        && counts.filter { $0.state == .dead }.reduce(0) { $0 + $1.count } == 1
                }
                worker.beginDrain()
                try await group.waitForAll()
            }
            let dead = try #require(try await store.job(poison))
            #expect(dead.state == .dead && dead.deadReason == .permanentError)
            #expect(dead.lastError?.message.contains("bad recipient a") == true)
            for id in ids { #expect(runs.counts.withLock { $0[id] } == 1, "job \(id) ran once") }
        }
    }

    @Test("a NUL character in a tag, correlation value, queue or unique key is refused at enqueue with a clear error")
    func nulRefusedAtEnqueue() async throws {
        try await TestServer.withFreshStore { store in
            let registry = JobRegistry([OkJob.self])
            let queue = JobQueue(store: store, registry: registry)
            let before = try await queue.enqueue(OkJob(n: 0), tenant: .system).id
            let hostile: [EnqueueOptions] = [
                EnqueueOptions(tags: ["a\u{0}b"]),
                EnqueueOptions(correlation: ["order": "1\u{0}2"]),
                EnqueueOptions(queue: "q\u{0}"),
                EnqueueOptions(uniqueKey: "k\u{0}"),
            ]
            for options in hostile {
                do {
                    _ = try await queue.enqueue(OkJob(n: 1), tenant: .system, options: options)
                    Issue.record("enqueue with a NUL character succeeded: \(options)")
                } catch let error as SuretyError {
                    #expect(error.code == .invalidArgument, "got \(error)")
                }
            }
            // Nothing was written for the refused ones, nothing before them was lost, and the
            // store still works.
            let after = try await queue.enqueue(OkJob(n: 2), tenant: .system).id
            let stored = try await store.jobs(JobFilter(limit: 100)).map(\.id)
            #expect(Set(stored) == [before, after], "got \(stored)")
        }
    }

    @Test("a flow-controlled claim over several queues whose later step fails claims nothing")
    func claimWithLimitsIsAtomic() async throws {
        try await TestServer.withFreshStore { store in
            try await store.setQueueLimits(try QueueLimits(queue: "first", concurrency: 5))
            try await store.setQueueLimits(try QueueLimits(queue: "second", concurrency: 5))
            let registry = JobRegistry([OkJob.self])
            let queue = JobQueue(store: store, registry: registry)
            for name in ["first", "second", "free"] {
                for n in 0..<3 { _ = try await queue.enqueue(OkJob(n: n), tenant: .system, options: EnqueueOptions(queue: name)) }
            }
            let now = Date()
            let request = ClaimRequest(queues: ["first", "second", "free"], limit: 20, worker: "w1", now: now, leaseUntil: now.addingTimeInterval(30))
            store.faults.arm(.claimBetweenQueues)
            await #expect(throws: SuretyError.self) { try await store.claim(request) }
            store.faults.disarm(.claimBetweenQueues)
            let running = try await store.counts().filter { $0.state == .running }.reduce(0) { $0 + $1.count }
            #expect(running == 0, "a failed claim left \(running) jobs running under a lease nobody holds")
            let claimed = try await store.claim(request)
            #expect(Set(claimed.map(\.queue)) == ["first", "second", "free"] && claimed.count == 9)
        }
    }

    /// Node A claims a job and heartbeats it on its own clock; node B, whose clock is a minute
    /// ahead, runs the rescue. Returns how many jobs B rescued.
    static func skewedRescue(_ store: PostgresStore) async throws -> Int {
        let queue = JobQueue(store: store, registry: JobRegistry([OkJob.self]))
        _ = try await queue.enqueue(OkJob(n: 1), tenant: .system)
        let clockA = TestClock(now: Date())
        let now = clockA.now()
        let claimed = try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "node-a", now: now, leaseUntil: now.addingTimeInterval(30)))
        #expect(claimed.count == 1)
        clockA.advance(by: .seconds(10))
        let lost = try await store.heartbeat(claimed.map(\.lease), now: clockA.now(), until: clockA.now().addingTimeInterval(30))
        #expect(lost.isEmpty)
        return try await TestServer.withSecondStore(of: store) { nodeB in
            let clockB = TestClock(now: clockA.now().addingTimeInterval(60))
            return try await LeaseRescuer.rescueOnce(store: nodeB, registry: JobRegistry([OkJob.self]), clock: clockB, logger: LogCapture().logger())
        }
    }

    @Test("a node whose clock is a minute ahead does not rescue another node's healthy job (database clock, the default)")
    func clockSkewDoesNotRescueHealthyJobs() async throws {
        try await TestServer.withFreshStore { store in
            #expect(store.configuration.leaseClock == .database)
            let rescued = try await Self.skewedRescue(store)
            #expect(rescued == 0, "the healthy job was rescued")
            let running = try await store.counts().filter { $0.state == .running }.reduce(0) { $0 + $1.count }
            #expect(running == 1)
        }
    }

    @Test("with leases on the callers' clocks the same skew rescues the healthy job (the hazard the database clock removes)")
    func clockSkewOnCallerClocks() async throws {
        try await TestServer.withFreshStore(leaseClock: .caller) { store in
            let rescued = try await Self.skewedRescue(store)
            #expect(rescued == 1)
        }
    }

    @Test("on the database clock a lease that expired by the server's time is rescued whatever the rescuer's clock says")
    func databaseClockExpiry() async throws {
        try await TestServer.withFreshStore { store in
            let queue = JobQueue(store: store, registry: JobRegistry([OkJob.self]))
            let id = try await queue.enqueue(OkJob(n: 1), tenant: .system).id
            let now = Date()
            _ = try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "node-a", now: now, leaseUntil: now.addingTimeInterval(0.2)))
            // The rescuer's clock is an hour behind: by its clock nothing expired.
            let behind = TestClock(now: now.addingTimeInterval(-3600))
            try await eventually("the lease expired by the server's clock is rescued", timeout: .seconds(20), pollEvery: .milliseconds(100)) {
                try await LeaseRescuer.rescueOnce(store: store, registry: JobRegistry([OkJob.self]), clock: behind, logger: LogCapture().logger()) == 1
            }
            #expect(try await store.attempts(of: id).map(\.outcome) == [.lost])
        }
    }
}
