import Foundation
import Surety

extension StoreConformance {
    /// Priorities outside 0…9 are ordered like the others (lower first); many jobs scheduled later
    /// at the most urgent priority do not hide due ones from a claim.
    func priorities(_ store: any OperatedStore, _ check: Check) async throws {
        let later = Fixtures.t0.addingTimeInterval(3600)
        _ = try await store.enqueue((0..<500).map { _ in Fixtures.job(priority: 0, runAt: later) })
        let ids = try await store.enqueue([
            Fixtures.job(priority: 15), Fixtures.job(priority: 9), Fixtures.job(priority: -3), Fixtures.job(priority: 4),
            Fixtures.job(queue: "b", priority: -1),
        ]).map(\.id)
        let claimed = try await Fixtures.claim(store, limit: 4, queues: ["default", "b"])
        let expected = [ids[2], ids[4], ids[3], ids[1]]
        try check.that(claimed.map(\.id) == expected,
                       "due jobs are claimed by priority (-3, -1, 4, 9) past 500 later jobs at priority 0: expected \(expected), got \(claimed.map(\.id))")
        let rest = try await Fixtures.claim(store, limit: 10, queues: ["default", "b"])
        try check.that(rest.map(\.id) == [ids[0]], "priority 15 comes last and the later jobs are not due, got \(rest.map(\.id))")
        let due = try await Fixtures.claim(store, at: later, limit: 1000)
        try check.that(due.count == 500, "the later jobs are claimable at their run_at, got \(due.count) of 500")
    }
}
