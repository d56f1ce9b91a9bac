import Foundation
@testable import Surety
import SuretyTesting
import Synchronization
import Testing

/// The worker's fault paths an outside review found untested (issue 16, review items 1, 4, 5
/// and 9): a cancelled worker task, a store that fails every outcome write at shutdown, one
/// outcome the store cannot write among many, and heartbeats that keep failing.
@Suite("Worker fault paths (review items 1, 4, 5, 9)")
struct HardeningWorkerTests {
    let acme = try! TenantID("acme")

    /// A memory store whose writes can be made to fail the way PostgreSQL's do.
    final class FaultyStore: ForwardingMemoryStore, @unchecked Sendable {
        let base = MemoryStore()
        /// Every `finish` throws (the store is unreachable).
        let finishesFail = Mutex(false)
        /// A `finish` call fails at once in a cancelled task, as postgres-nio's pool lease does.
        let checksCancellation: Bool
        /// A batch holding this job's outcome is refused whole (a row the store cannot hold).
        let poisonJob = Mutex<JobID?>(nil)
        /// Every `heartbeat` throws.
        let heartbeatsFail = Mutex(false)
        let finishCalls = Mutex(0)

        init(checksCancellation: Bool = false) { self.checksCancellation = checksCancellation }

        func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
            finishCalls.withLock { $0 += 1 }
            if checksCancellation { try Task.checkCancellation() }
            if finishesFail.withLock({ $0 }) { throw SuretyError(.storeUnavailable, "store down") }
            if let poison = poisonJob.withLock({ $0 }), finishes.contains(where: { $0.lease.jobID == poison && $0.error?.message.contains("unstorable") == true }) {
                throw SuretyError(.storeUnavailable, "invalid byte sequence for encoding \"UTF8\": 0x00")
            }
            return try await base.finish(finishes)
        }

        func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] {
            if heartbeatsFail.withLock({ $0 }) { throw SuretyError(.storeUnavailable, "store unreachable") }
            return try await base.heartbeat(leases, until: until)
        }
    }

    struct PoisonJob: Job {
        static let name = "test.poison"
        static let options = JobOptions(maxAttempts: 1)
        func run(_ context: JobContext) async throws { throw PermanentFailure("unstorable \u{0} byte") }
    }

    /// Advances the clock a second at a time (the worker's retries sleep on it) until `done`.
    static func advance(_ h: Harness, until done: @Sendable () -> Bool, steps: Int = 300) async throws {
        for _ in 0..<steps {
            if done() { return }
            h.clock.advance(by: .seconds(1))
            _ = try? await h.events.next(timeout: .milliseconds(50)) { _ in true }
        }
        #expect(done(), "did not happen within \(steps) seconds of the injected clock")
    }

    @Test("cancelling the worker's task releases running jobs as interrupted, without using an attempt", .timeLimit(.minutes(1)))
    func cancelledWorkerInterruptsJobs() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        let worker = h.worker()
        let run = Task { try await worker.run() }
        try await h.events.first { $0.started(id, attempt: 1) }
        run.cancel()
        try await run.value
        let attempts = try await h.store.attempts(of: id)
        #expect(attempts.map(\.outcome) == [.interrupted], "a cancelled worker is a shutdown, not a job failure")
        let record = try #require(try await h.store.job(id))
        #expect(record.state != .dead && record.state != .running)
        #expect(record.attempt == 0 || attempts.first?.outcome == .interrupted)
    }

    @Test("a cancelled worker whose store refuses calls from cancelled tasks still records and returns", .timeLimit(.minutes(1)))
    func cancelledWorkerOnCancellationCheckingStore() async throws {
        let store = FaultyStore(checksCancellation: true)
        let h = Harness(store: store)
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        let worker = h.worker()
        let run = Task { try await worker.run() }
        try await h.events.first { $0.started(id, attempt: 1) }
        run.cancel()
        try await run.value
        #expect(try await store.attempts(of: id).map(\.outcome) == [.interrupted])
        #expect(store.finishCalls.withLock { $0 } < 10, "no busy retry loop")
    }

    @Test("a graceful shutdown while the store refuses every outcome gives up after five tries and returns", .timeLimit(.minutes(1)))
    func shutdownWithStoreDown() async throws {
        let store = FaultyStore()
        let h = Harness(store: store)
        let id = try await h.queue.enqueue(GatedJob(), tenant: acme).id
        let worker = h.worker()
        let finished = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await worker.run()
                finished.increment("stopped")
            }
            try await h.events.first { $0.started(id, attempt: 1) }
            store.finishesFail.withLock { $0 = true }
            worker.beginDrain()
            h.gate.open()
            try await Self.advance(h, until: { finished.value("stopped") == 1 })
            try await group.waitForAll()
        }
        #expect(h.logs.entries.contains { $0.message.contains("giving up recording attempt outcomes at shutdown") })
    }

    @Test("one outcome the store cannot write does not hold back the others; every other job completes once", .timeLimit(.minutes(1)))
    func poisonOutcomeIsolated() async throws {
        let store = FaultyStore()
        let h = Harness(store: store, extraTypes: [PoisonJob.self])
        let poison = try await h.queue.enqueue(PoisonJob(), tenant: acme).id
        store.poisonJob.withLock { $0 = poison }
        var ids: [JobID] = []
        for n in 0..<40 { ids.append(try await h.queue.enqueue(SucceedingJob(note: "\(n)"), tenant: acme).id) }
        let all = ids
        try await h.running([h.worker(concurrency: 8)]) {
            try await Self.advance(h, until: {
                all.allSatisfy { id in h.events.events.contains { $0.finished(id)?.2 == .applied } }
                    && h.events.events.contains { $0.finished(poison)?.2 == .applied }
            })
        }
        for id in ids {
            #expect(try await store.job(id)?.state == .completed)
            #expect(h.counter.value("succeed:\(id)") == 1, "job \(id) ran once")
        }
        let dead = try #require(try await store.job(poison))
        #expect(dead.state == .dead, "the poison job's outcome is recorded with a storable message")
        let error = try #require(try await store.attempts(of: poison).first?.error)
        #expect(error.type == "UnstorableError", "written again without the text the store refused")
        #expect(h.logs.entries.contains { $0.message.contains("writing it without its error text") && $0.metadata["job_id"] == "\(poison)" })
    }

    @Test("an error message with a NUL character is recorded without it")
    func nulInAttemptError() {
        let error = AttemptError(type: "Bad\u{0}Type", message: "bad\u{0}byte", errorClass: .permanent)
        #expect(!error.message.contains("\u{0}") && !error.type.contains("\u{0}"))
        #expect(error.message.hasPrefix("bad") && error.message.hasSuffix("byte"))
    }

    @Test("an attempt whose heartbeats keep failing is stopped before its lease can have expired, and released", .timeLimit(.minutes(1)))
    func unrenewableLeaseStopsAttempt() async throws {
        let store = FaultyStore()
        let h = Harness(store: store)
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        let claimedAt = h.clock.now()
        let worker = h.worker(lease: .seconds(9), heartbeat: .seconds(3), grace: .seconds(1))
        let stopped = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await worker.run()
                stopped.increment("stopped")
            }
            try await h.events.first { $0.started(id, attempt: 1) }
            store.heartbeatsFail.withLock { $0 = true }
            // Time moves to the lease's end minus the margin (9 s - 9 s / 6 = 7.5 s) and stays
            // there: no heartbeat succeeded, and the attempt must end without more time passing.
            h.clock.advance(by: .milliseconds(7500))
            try await h.events.first { $0.finished(id) != nil }
            #expect(h.clock.now().timeIntervalSince(claimedAt) < 9, "stopped before the lease (9 s) could have expired")
            // The released job is claimed again at once (and stopped again while heartbeats fail).
            worker.beginDrain()
            try await Self.advance(h, until: { stopped.value("stopped") == 1 })
            try await group.waitForAll()
        }
        let attempts = try await store.attempts(of: id)
        #expect(attempts.first?.outcome == .interrupted)
        #expect(attempts.first?.error?.type == "LeaseNotRenewed")
        #expect(try await store.job(id)?.state != .running, "released, not left running under a lease nobody renews")
    }

    /// A store whose claims answer after `delay` on the test clock (a slow network, a stalled server).
    final class SlowClaimStore: ForwardingMemoryStore, @unchecked Sendable {
        let base = MemoryStore()
        let clock: TestClock
        let delay: Duration
        init(clock: TestClock, delay: Duration) {
            self.clock = clock
            self.delay = delay
        }
        func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
            let claimed = try await base.claim(request)
            if !claimed.isEmpty { clock.advance(by: delay) }
            return claimed
        }
        /// Heartbeats are as stalled as claims: none renews a lease.
        func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] {
            throw SuretyError(.storeUnavailable, "store stalled")
        }
    }

    @Test("a claim answered too late for its lease does not start the jobs; they are released without using an attempt", .timeLimit(.minutes(1)))
    func lateClaimNotRun() async throws {
        let clock = TestClock()
        let store = SlowClaimStore(clock: clock, delay: .seconds(10))
        let h = Harness(store: store, clock: clock)
        let id = try await h.queue.enqueue(SucceedingJob(note: "late"), tenant: acme).id
        let worker = h.worker(id: "late-claims", lease: .seconds(9), heartbeat: .seconds(3))
        let run = Task { try await worker.run() }
        try await h.events.first { $0.finished(id) != nil }
        worker.beginDrain()
        try await run.value
        #expect(h.counter.value("succeed:\(id)") == 0, "the body ran under a lease that may already have expired")
        let attempts = try await store.attempts(of: id)
        #expect(attempts.first?.outcome == .interrupted && attempts.first?.error?.type == "LeaseNotRenewed")
    }
}
