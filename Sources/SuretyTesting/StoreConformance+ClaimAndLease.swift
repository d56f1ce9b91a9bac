import Foundation
import Surety

extension StoreConformance {
    func claimAndLease(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let ids = try await store.enqueue([
            Fixtures.job(priority: 5, runAt: now.addingTimeInterval(-30)),
            Fixtures.job(priority: 0, runAt: now.addingTimeInterval(-10)),
            Fixtures.job(priority: 0, runAt: now.addingTimeInterval(-20)),
            Fixtures.job(priority: 0, runAt: now.addingTimeInterval(600)),
            Fixtures.job(queue: "other", priority: 0, runAt: now.addingTimeInterval(-40)),
        ]).map(\.id)
        let batch = try await Fixtures.claim(store, limit: 2)
        try check.that(batch.map(\.id) == [ids[2], ids[1]], "claim takes priority first, then run_at: expected \([ids[2], ids[1]]), got \(batch.map(\.id))")
        try check.that(batch.allSatisfy { $0.attempt == 1 && $0.lease.token > 0 }, "a claim starts attempt 1 with a positive lease token")
        try check.that(Set(batch.map(\.lease.token)).count == 2, "each claimed job gets its own lease token")
        let running = try await store.job(ids[2])
        try check.that(running?.state == .running && running?.attemptedBy == "w1" && running?.leaseUntil == now.addingTimeInterval(30), "a claimed job is running, owned, leased until the requested time")
        try check.that(running?.firstAttemptAt == now, "the first claim records the first attempt time")
        let rest = try await Fixtures.claim(store, limit: 10, worker: "w2")
        try check.that(rest.map(\.id) == [ids[0]], "a second claim gets only the remaining due job in its queues, got \(rest.map(\.id))")
        let none = try await Fixtures.claim(store, limit: 10)
        try check.that(none.isEmpty, "nothing is claimable twice and a future job is not due")
        let later = try await Fixtures.claim(store, at: now.addingTimeInterval(601), limit: 10)
        try check.that(later.map(\.id) == [ids[3]], "a scheduled job becomes claimable at its run_at")
        let other = try await Fixtures.claim(store, queues: ["other", "default"])
        try check.that(other.map(\.id) == [ids[4]], "claims honour the queue list")
        // Across several queues the order is still priority, then run_at, over all of them.
        let mixed = try await store.enqueue([
            Fixtures.job(queue: "a", priority: 1, runAt: now.addingTimeInterval(-5)),
            Fixtures.job(queue: "b", priority: 0, runAt: now.addingTimeInterval(-1)),
            Fixtures.job(queue: "a", priority: 0, runAt: now.addingTimeInterval(-3)),
            Fixtures.job(queue: "b", priority: 1, runAt: now.addingTimeInterval(-9)),
        ]).map(\.id)
        let across = try await Fixtures.claim(store, limit: 3, queues: ["a", "b"])
        try check.that(across.map(\.id) == [mixed[2], mixed[1], mixed[3]], "a claim over several queues takes priority first, then run_at, across them: expected \([mixed[2], mixed[1], mixed[3]]), got \(across.map(\.id))")
        let attempts = try await store.attempts(of: ids[2])
        try check.that(attempts.count == 1 && attempts[0].outcome == nil && attempts[0].worker == "w1", "a running attempt shows in the history from the job row")
    }
}
