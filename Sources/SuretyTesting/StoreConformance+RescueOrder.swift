import Foundation
import Surety

extension StoreConformance {
    /// ``Surety/JobStore/expiredLeases(now:limit:)`` lists expired leases oldest first, up to the
    /// limit, with the worker and start of each; a rescue applies only to the leases still expired,
    /// and heartbeats afterwards report the rescued lease lost.
    func rescueOrder(_ store: any OperatedStore, _ check: Check) async throws {
        let t0 = Fixtures.t0
        _ = try await store.enqueue([Fixtures.job(), Fixtures.job(), Fixtures.job()])
        let a = try await Fixtures.claim(store, limit: 1, worker: "wa", lease: 50)[0]
        let b = try await Fixtures.claim(store, limit: 1, worker: "wb", lease: 20)[0]
        let c = try await Fixtures.claim(store, limit: 1, worker: "wc", lease: 100)[0]
        let none = try await store.expiredLeases(now: t0.addingTimeInterval(19), limit: 10)
        try check.that(none.isEmpty, "no lease has expired 19 s in, got \(none.map(\.job.id))")
        let expired = try await store.expiredLeases(now: t0.addingTimeInterval(60), limit: 10)
        try check.that(expired.map(\.job.id) == [b.id, a.id], "expired leases come oldest lease first: expected \([b.id, a.id]), got \(expired.map(\.job.id))")
        try check.that(expired.map(\.worker) == ["wb", "wa"] && expired.allSatisfy { $0.startedAt == t0 }, "each expired lease names its worker and start")
        try check.that(expired.first?.job.lease == b.lease && expired.first?.job.attempt == 1 && expired.first?.job.leaseUntil == t0.addingTimeInterval(20),
                       "an expired lease carries the job's lease, attempt and lease end")
        let one = try await store.expiredLeases(now: t0.addingTimeInterval(60), limit: 1)
        try check.that(one.map(\.job.id) == [b.id], "the limit keeps the oldest, got \(one.map(\.job.id))")
        let zero = try await store.expiredLeases(now: t0.addingTimeInterval(60), limit: 0)
        try check.that(zero.isEmpty, "a limit of 0 lists nothing")

        // a's worker heartbeats after the rescuer read the lease but before it wrote.
        _ = try await store.heartbeat([a.lease], until: t0.addingTimeInterval(120))
        let now = t0.addingTimeInterval(60)
        let results = try await store.finish(expired.map {
            AttemptFinish(lease: $0.job.lease, attempt: $0.job.attempt, worker: $0.worker, startedAt: $0.startedAt, endedAt: now,
                          outcome: .lost, error: Fixtures.boom, next: .retry(at: now.addingTimeInterval(5)), onlyIfLeaseExpiredBy: now)
        })
        try check.that(results == [.applied, .leaseLost], "the rescue applies to b and is refused for a, which heartbeated, got \(results)")
        let bState = try await store.job(b.id)?.state
        let aState = try await store.job(a.id)?.state
        try check.that(bState == .retrying && aState == .running, "b waits to retry, a still runs; got b \(String(describing: bState)), a \(String(describing: aState))")
        let history = try await store.attempts(of: b.id).map(\.outcome)
        try check.that(history == [.lost], "b's history holds the lost attempt, got \(history)")
        let lost = try await store.heartbeat([a.lease, b.lease, c.lease], until: t0.addingTimeInterval(130))
        try check.that(lost == [b.lease], "after the rescue only b's lease is reported lost, got \(lost)")
    }
}
