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

    /// The memory store, with outcome writes held at a gate and the most jobs the worker held
    /// (claimed, outcome not yet written) recorded at every claim.
    final class SlowFinishStore: ForwardingMemoryStore {
        let base = MemoryStore()
        let finishGate = Gate()
        private let tally = Mutex((claimed: 0, finished: 0, mostHeld: 0, finishCalls: 0))

        var mostHeld: Int { tally.withLock { $0.mostHeld } }
        var finishCalls: Int { tally.withLock { $0.finishCalls } }

        func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
            let claimed = try await base.claim(request)
            tally.withLock { tally in
                tally.claimed += claimed.count
                tally.mostHeld = max(tally.mostHeld, tally.claimed - tally.finished)
            }
            return claimed
        }

        func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
            tally.withLock { $0.finishCalls += 1 }
            await finishGate.wait()
            let results = try await base.finish(finishes)
            tally.withLock { $0.finished += finishes.count }
            return results
        }
    }

    /// 4 slots run the claim loop and batcher on the shared threads; 64 on the worker's own control
    /// queue (WorkerControlExecutor.minimumConcurrency).
    @Test("while outcomes wait to be written the worker claims one more round, then stops at twice its concurrency; all jobs complete once", arguments: [4, 64])
    func boundedOverlap(concurrency: Int) async throws {
        let store = SlowFinishStore()
        let h = Harness(store: store)
        let ids = try await h.queue.enqueue((0..<(10 * concurrency)).map { SucceedingJob(note: "\($0)") }, tenant: acme).map(\.id)
        try await h.running([h.worker(concurrency: concurrency)]) {
            // The first round ends its bodies while their outcome write waits: the worker overlaps a
            // second claim of as many, and those end too. Twice the concurrency started, none recorded.
            try await h.events.count(2 * concurrency) { if case .attemptStarted = $0 { true } else { false } }
            try await eventually("the second round of bodies ended too") { store.finishCalls >= 1 }
            #expect(store.mostHeld <= 2 * concurrency, "never more than twice the concurrency held (held \(store.mostHeld))")
            store.finishGate.open()
            try await h.events.count(10 * concurrency) { if case .attemptFinished(_, _, .succeeded, _, .applied) = $0 { true } else { false } }
        }
        #expect(store.mostHeld == 2 * concurrency, "the overlap is used: a second round was claimed while outcomes were written")
        for id in ids { #expect(h.counter.value("succeed:\(id)") == 1) }
    }
}
