import Foundation
import Surety
import SuretyTesting
import Testing

@Suite("Retention service on an injected clock")
struct RetentionServiceTests {
    let acme = try! TenantID("acme")

    /// Runs a job to its end on the store at `at`: completed, or dead.
    func finishJob(_ store: MemoryStore, queue: String, dead: Bool, at: Date) async throws -> JobID {
        let id = try await store.enqueue([NewJob(type: "test.job", queue: queue, priority: 0, tenant: acme, payload: "{}", runAt: at, enqueuedAt: at, maxAttempts: 1)])[0].id
        let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 1, worker: "w1", now: at, leaseUntil: at.addingTimeInterval(30)))
        let job = try #require(claimed.first)
        let next: NextState = dead ? .dead(.maxAttempts) : .completed
        let error = dead ? AttemptError(type: "Timeout", message: "timed out", errorClass: .transient) : nil
        _ = try await store.finish([AttemptFinish(lease: job.lease, attempt: 1, worker: "w1", startedAt: at, endedAt: at, outcome: dead ? .failed : .succeeded, error: error, next: next)])
        return id
    }

    @Test("passes run every interval under the clock, prune in bounded batches by age, keep dead jobs longest and audit rows longer")
    func prunesByAgeInBatches() async throws {
        let store = MemoryStore()
        let clock = TestClock()
        let t0 = clock.now()
        var completed: [JobID] = []
        for _ in 0..<5 { completed.append(try await finishJob(store, queue: "q", dead: false, at: t0)) }
        let dead = try await finishJob(store, queue: "q", dead: true, at: t0)
        let discarded = try await finishJob(store, queue: "q", dead: true, at: t0)
        _ = try await store.discard([discarded], action: OperatorAction(actor: "ops", reason: "won't fix", at: t0))

        let policy = RetentionPolicy(
            completed: .seconds(3600), cancelled: .seconds(2 * 3600), dead: .seconds(24 * 3600), audit: .seconds(48 * 3600),
            batchSize: 2, interval: .seconds(600)
        )
        let (passes, continuation) = AsyncStream<RetentionReport>.makeStream()
        let service = RetentionService(store: store, policy: policy, clock: clock, onPass: { continuation.yield($0) })
        var reports = passes.makeAsyncIterator()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            // The first pass runs at once: nothing is old enough.
            let first = try #require(await reports.next())
            #expect(first.jobs == 0 && first.audit == 0)

            // Past an hour: the completed jobs go (5 in batches of 2), nothing else.
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(3600 + 600))
            let second = try #require(await reports.next())
            #expect(second.completed == 5 && second.cancelled == 0 && second.dead == 0)
            for id in completed { #expect(try await store.job(id) == nil) }
            #expect(try await store.job(dead)?.state == .dead)

            // Past two hours: the discarded (cancelled) job; its audit row stays.
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(3600))
            let third = try #require(await reports.next())
            #expect(third.cancelled == 1 && third.dead == 0 && third.audit == 0)
            #expect(try await store.audit(of: discarded).count == 1, "audit rows outlive their job")

            // Past a day: the dead job. Past two days: the orphaned audit row.
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(22 * 3600))
            let fourth = try #require(await reports.next())
            #expect(fourth.dead == 1)
            #expect(try await store.job(dead) == nil)
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(24 * 3600))
            let fifth = try #require(await reports.next())
            #expect(fifth.audit == 1)
            #expect(try await store.audit(of: discarded).isEmpty)
            group.cancelAll()
        }
    }

    @Test("a dry run counts without deleting; an invalid policy is refused with a clear error")
    func previewAndValidation() async throws {
        let store = MemoryStore()
        let clock = TestClock()
        let id = try await finishJob(store, queue: "q", dead: false, at: clock.now())
        clock.advance(by: .seconds(2 * 24 * 3600))
        let service = RetentionService(store: store, clock: clock)
        let preview = try await service.preview()
        #expect(preview.dryRun && preview.completed == 1)
        #expect(try await store.job(id) != nil)
        let pass = try #require(try await service.pruneOnce())
        #expect(pass.completed == 1)
        #expect(try await store.job(id) == nil)

        let bad = RetentionService(store: store, policy: RetentionPolicy(batchSize: 0), clock: clock)
        await #expect(throws: SuretyError.self) { try await bad.pruneOnce() }
    }
}
