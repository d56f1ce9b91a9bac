import Foundation
import Surety

extension StoreConformance {
    func concurrencyRaces(_ store: any OperatedStore, _ check: Check) async throws {
        // Many producers racing on one unique key: exactly one job.
        let results = try await withThrowingTaskGroup(of: EnqueuedJob.self) { group in
            for _ in 0..<32 {
                group.addTask { try await store.enqueue([Fixtures.job(key: "race")])[0] }
            }
            var all: [EnqueuedJob] = []
            for try await result in group { all.append(result) }
            return all
        }
        try check.that(results.filter(\.inserted).count == 1 && Set(results.map(\.id)).count == 1, "32 racing enqueues of one key insert one job")

        // Many workers racing to claim: every job claimed exactly once.
        _ = try await store.enqueue((0..<200).map { _ in Fixtures.job(queue: "race") })
        let claims = try await withThrowingTaskGroup(of: [ClaimedJob].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [ClaimedJob] = []
                    while true {
                        let batch = try await Fixtures.claim(store, limit: 7, queues: ["race"], worker: "w\(worker)")
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }
            }
            var all: [ClaimedJob] = []
            for try await batch in group { all += batch }
            return all
        }
        try check.that(claims.count == 200 && Set(claims.map(\.id)).count == 200, "8 racing workers claim 200 jobs exactly once each, got \(claims.count) claims of \(Set(claims.map(\.id)).count) jobs")
        let finishes = try await withThrowingTaskGroup(of: [FenceResult].self) { group in
            for chunk in stride(from: 0, to: claims.count, by: 25) {
                let slice = Array(claims[chunk..<min(chunk + 25, claims.count)])
                group.addTask { try await store.finish(slice.map { Fixtures.finish($0, at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed) }) }
            }
            var all: [FenceResult] = []
            for try await results in group { all += results }
            return all
        }
        try check.that(finishes.count == 200 && finishes.allSatisfy { $0 == .applied }, "concurrent batched finishes all apply")
        let completed = try await store.counts().filter { $0.queue == "race" && $0.state == .completed }.reduce(0) { $0 + $1.count }
        try check.that(completed == 200, "all 200 raced jobs are completed")
    }
}
