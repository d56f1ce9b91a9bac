import Foundation
import Surety
import SuretyTesting
import Synchronization
import Testing

/// The worker claims again while outcomes are being written (a finishing attempt frees its
/// slot), but never holds more than twice its concurrency: a store that writes outcomes slowly
/// holds the claims back.
@Suite("Worker: claims overlap outcome writes, bounded")
struct ClaimOverlapTests {
    let acme = try! TenantID("acme")

    /// The memory store, with outcome writes held at a gate and every claim checked against
    /// the bound.
    final class SlowFinishStore: JobStore {
        let base = MemoryStore()
        let finishGate = Gate()
        let concurrency: Int
        private let counts = Mutex((claimed: 0, finished: 0, mostHeld: 0, finishCalls: 0))

        init(concurrency: Int) { self.concurrency = concurrency }

        var mostHeld: Int { counts.withLock { $0.mostHeld } }
        var finishCalls: Int { counts.withLock { $0.finishCalls } }

        func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
            let claimed = try await base.claim(request)
            counts.withLock { counts in
                counts.claimed += claimed.count
                counts.mostHeld = max(counts.mostHeld, counts.claimed - counts.finished)
            }
            return claimed
        }

        func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
            counts.withLock { $0.finishCalls += 1 }
            await finishGate.wait()
            let results = try await base.finish(finishes)
            counts.withLock { $0.finished += finishes.count }
            return results
        }

        func migrate() async throws { try await base.migrate() }
        func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] { try await base.enqueue(jobs) }
        func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] { try await base.heartbeat(leases, until: until) }
        func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] { try await base.expiredLeases(now: now, limit: limit) }
        func job(_ id: JobID) async throws -> JobRecord? { try await base.job(id) }
        func jobs(_ filter: JobFilter) async throws -> [JobRecord] { try await base.jobs(filter) }
        func attempts(of id: JobID) async throws -> [AttemptRecord] { try await base.attempts(of: id) }
        func audit(of id: JobID) async throws -> [AuditRecord] { try await base.audit(of: id) }
        func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.requeue(ids, action: action) }
        func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.discard(ids, action: action) }
        func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.cancel(ids, action: action) }
        func counts() async throws -> [JobCount] { try await base.counts() }
    }

    @Test("while outcomes wait to be written the worker claims one more round, then stops at twice its concurrency; all jobs complete once")
    func boundedOverlap() async throws {
        let store = SlowFinishStore(concurrency: 4)
        let h = Harness(store: store)
        let ids = try await h.queue.enqueue((0..<40).map { SucceedingJob(note: "\($0)") }, tenant: acme).map(\.id)
        try await h.running([h.worker(concurrency: 4)]) {
            // The first 4 end their bodies while their outcome write waits: the worker overlaps a
            // second claim of 4, and those end too. 8 attempts started, none recorded.
            try await h.events.count(8) { if case .attemptStarted = $0 { true } else { false } }
            try await eventually("the second round of bodies ended too") { store.finishCalls >= 1 }
            #expect(store.mostHeld <= 8, "never more than twice the concurrency held (held \(store.mostHeld))")
            store.finishGate.open()
            try await h.events.count(40) { if case .attemptFinished(_, _, .succeeded, _, .applied) = $0 { true } else { false } }
        }
        #expect(store.mostHeld == 8, "the overlap is used: a second round was claimed while outcomes were written")
        for id in ids { #expect(h.counter.value("succeed:\(id)") == 1) }
    }
}
