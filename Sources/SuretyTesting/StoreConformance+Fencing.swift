import Foundation
import Surety

extension StoreConformance {
    func fencing(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job()])[0].id
        let stale = try await Fixtures.claim(store, worker: "paused")[0]
        // The paused worker's lease expires; the rescuer takes the job back; another worker completes it.
        _ = try await store.finish([Fixtures.finish(stale, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Fixtures.boom, worker: "paused", onlyIfExpiredBy: now.addingTimeInterval(31))])
        let fresh = try await Fixtures.claim(store, at: now.addingTimeInterval(31), worker: "healthy")[0]
        let done = try await store.finish([Fixtures.finish(fresh, at: now.addingTimeInterval(32), outcome: .succeeded, next: .completed, worker: "healthy")])
        try check.that(done == [.applied], "the current lease holder completes")
        // The paused worker wakes and reports: every write is refused and changes nothing.
        let before = try await store.job(id)
        let late = try await store.finish([Fixtures.finish(stale, at: now.addingTimeInterval(40), outcome: .failed, next: .dead(.permanentError), error: Fixtures.boom, worker: "paused")])
        try check.that(late == [.leaseLost], "a late finish with an old token is refused")
        let beat = try await store.heartbeat([stale.lease], until: now.addingTimeInterval(100))
        try check.that(beat == [stale.lease], "a heartbeat with an old token is refused")
        let after = try await store.job(id)
        try check.that(before == after && after?.state == .completed, "refused writes change nothing")
        let history = try await store.attempts(of: id)
        try check.that(history.map(\.outcome) == [.lost, .succeeded], "history shows the lost and the successful attempt only, got \(history.map(\.outcome))")
        // A batch mixing a valid and a stale finish applies only the valid one.
        let ids = try await store.enqueue([Fixtures.job(), Fixtures.job()]).map(\.id)
        let pair = try await Fixtures.claim(store, at: now.addingTimeInterval(50), limit: 2)
        var forged = pair[1]
        forged.lease.token &+= 1
        let mixed = try await store.finish([
            Fixtures.finish(pair[0], at: now.addingTimeInterval(51), outcome: .succeeded, next: .completed),
            Fixtures.finish(forged, at: now.addingTimeInterval(51), outcome: .succeeded, next: .completed),
        ])
        try check.that(mixed == [.applied, .leaseLost], "each finish in a batch is fenced on its own, got \(mixed)")
        let second = try await store.job(pair[1].id)
        try check.that(ids.contains(pair[1].id) && second?.state == .running, "the forged finish left its job running")
    }
}
