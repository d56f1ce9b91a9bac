import Foundation
import Surety

extension StoreConformance {
    func tenancy(_ store: any OperatedStore, _ check: Check) async throws {
        let a = try await store.enqueue([Fixtures.job(tenant: Fixtures.acme, key: "welcome")])[0]
        let b = try await store.enqueue([Fixtures.job(tenant: Fixtures.globex, key: "welcome")])[0]
        try check.that(a.inserted && b.inserted && a.id != b.id, "unique keys are scoped by tenant")
        let system = try await store.enqueue([Fixtures.job(tenant: .system)])[0]
        let claimed = try await Fixtures.claim(store, limit: 10)
        let tenants = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0.tenant) })
        try check.that(tenants[a.id] == Fixtures.acme && tenants[b.id] == Fixtures.globex && tenants[system.id] == .system, "each claim carries the job's stored tenant")
        // The tenant survives a retry: it is read from the row again.
        let job = claimed.first { $0.id == b.id }!
        _ = try await store.finish([Fixtures.finish(job, at: Fixtures.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: Fixtures.t0.addingTimeInterval(2)), error: Fixtures.boom)])
        let retried = try await Fixtures.claim(store, at: Fixtures.t0.addingTimeInterval(2))
        try check.that(retried.count == 1 && retried[0].tenant == Fixtures.globex, "a retry carries the same tenant")
        let filtered = try await store.jobs(JobFilter(tenants: [Fixtures.acme]))
        try check.that(filtered.map(\.id) == [a.id], "jobs can be filtered by tenant")
    }
}
