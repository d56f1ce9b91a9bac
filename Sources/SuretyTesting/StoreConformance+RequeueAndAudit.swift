import Foundation
import Surety

extension StoreConformance {
    func requeueAndAudit(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let ids = try await store.enqueue([Fixtures.job(maxAttempts: 1, key: "k1"), Fixtures.job(maxAttempts: 1), Fixtures.job()]).map(\.id)
        let claimed = try await Fixtures.claim(store, limit: 2)
        _ = try await store.finish(claimed.map { Fixtures.finish($0, at: now.addingTimeInterval(1), outcome: .failed, next: .dead(.maxAttempts), error: Fixtures.boom) })
        let action = Fixtures.operatorAction()
        let result = try await store.requeue([ids[0], ids[2], JobID(999_999)], action: action)
        try check.that(result.changed == [ids[0]], "only dead or cancelled jobs are requeued, changed \(result.changed)")
        try check.that(Set(result.skipped.map(\.id)) == [ids[2], JobID(999_999)], "running/waiting and missing jobs are skipped with a reason")
        let requeued = try await store.job(ids[0])
        try check.that(requeued?.state == .available && requeued?.attempt == 0 && requeued?.runAt == action.at && requeued?.deadReason == nil, "a requeued job is available now with its attempts reset")
        let audit = try await store.audit(of: ids[0])
        try check.that(audit.count == 1 && audit[0].action == "requeue" && audit[0].actor == "ops@example.com" && audit[0].reason == action.reason && audit[0].at == action.at,
                       "the requeue is audited with who, why and when")
        let history = try await store.attempts(of: ids[0])
        try check.that(history.first?.outcome == .failed, "the history before the requeue is kept")
        let duplicate = try await store.enqueue([Fixtures.job(key: "k1")])[0]
        try check.that(!duplicate.inserted && duplicate.id == ids[0], "a requeued job takes its unique key back")

        let discard = try await store.discard([ids[1], ids[0]], action: Fixtures.operatorAction("customer closed the account"))
        try check.that(discard.changed == [ids[1]] && discard.skipped.map(\.id) == [ids[0]], "only dead jobs are discarded")
        let discarded = try await store.job(ids[1])
        try check.that(discarded?.state == .cancelled && (discarded?.note ?? "").contains("customer closed the account"), "a discarded job is cancelled with a won't-retry note")
        let discardAudit = try await store.audit(of: ids[1])
        try check.that(discardAudit.map(\.action) == ["discard"], "the discard is audited")

        // A requeue whose key a newer job holds is skipped.
        let keyed = try await store.enqueue([Fixtures.job(queue: "keys", maxAttempts: 1, key: "k2")])[0].id
        let keyedClaim = try await Fixtures.claim(store, queues: ["keys"])[0]
        _ = try await store.finish([Fixtures.finish(keyedClaim, at: now.addingTimeInterval(1), outcome: .failed, next: .dead(.maxAttempts), error: Fixtures.boom)])
        let newer = try await store.enqueue([Fixtures.job(queue: "keys", key: "k2")])[0]
        try check.that(newer.inserted, "a dead job frees a whileActive key")
        let conflict = try await store.requeue([keyed], action: Fixtures.operatorAction())
        try check.that(conflict.changed.isEmpty && conflict.skipped.first?.reason.contains("\(newer.id)") == true, "a requeue is skipped while a newer job holds the key, naming it")
    }
}
