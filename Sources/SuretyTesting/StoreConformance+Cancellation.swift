import Foundation
import Surety

extension StoreConformance {
    func cancellation(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let ids = try await store.enqueue([Fixtures.job(runAt: now.addingTimeInterval(3600), key: "c1"), Fixtures.job()]).map(\.id)
        let running = try await Fixtures.claim(store)
        try check.that(running.map(\.id) == [ids[1]], "only the due job is claimed")
        let result = try await store.cancel(ids, action: Fixtures.operatorAction("customer asked"))
        try check.that(result.changed == [ids[0]] && result.skipped.map(\.id) == [ids[1]], "a scheduled job is cancelled; a running one is skipped")
        let cancelled = try await store.job(ids[0])
        try check.that(cancelled?.state == .cancelled && cancelled?.finishedAt == now.addingTimeInterval(100), "a cancelled job is terminal")
        let none = try await Fixtures.claim(store, at: now.addingTimeInterval(7200))
        try check.that(none.isEmpty, "a cancelled job is never claimed")
        let reuse = try await store.enqueue([Fixtures.job(key: "c1")])[0]
        try check.that(reuse.inserted, "cancelling frees a whileActive key")
        let audit = try await store.audit(of: ids[0])
        try check.that(audit.map(\.action) == ["cancel"], "the cancel is audited")
        _ = try await store.finish([Fixtures.finish(running[0], at: now.addingTimeInterval(1), outcome: .cancelled, next: .cancelled)])
        let stopped = try await store.job(ids[1])
        try check.that(stopped?.state == .cancelled, "a running job that was cancelled ends cancelled")
    }
}
