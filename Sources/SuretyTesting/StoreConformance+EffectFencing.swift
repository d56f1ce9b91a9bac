import Foundation
import Surety

extension StoreConformance {
    /// Every ledger write is fenced by the lease (review item 3): a stale attempt neither learns
    /// about an existing record nor forgets the live attempt's `started` record.
    func effectFencing(_ store: any OperatedStore, _ check: Check) async throws {
        guard let ledger = store as? any EffectLedgerStore & OperatedStore else {
            try check.fail("the store does not provide the effect ledger (EffectLedgerStore)")
        }
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job()])[0].id
        let key = EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: "order-9")
        // Attempt 1 starts the effect and dies; attempt 2 finds it in doubt and stalls past its lease.
        let first = try await Fixtures.claim(store)[0]
        _ = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        _ = try await store.finish([Fixtures.finish(first, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(31))])
        let second = try await Fixtures.claim(store, at: now.addingTimeInterval(31))[0]
        _ = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(32))
        _ = try await store.finish([Fixtures.finish(second, at: now.addingTimeInterval(62), outcome: .lost, next: .retry(at: now.addingTimeInterval(62)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(62))])
        // Attempt 3 reconciles "did not happen", forgets attempt 1's record and starts it anew.
        let third = try await Fixtures.claim(store, at: now.addingTimeInterval(62))[0]
        guard case .existing(let seen) = try await ledger.beginEffect(key, lease: third.lease, attempt: 3, worker: "w3", now: now.addingTimeInterval(63)) else {
            try check.fail("attempt 3 finds attempt 1's unconfirmed effect")
        }
        try await ledger.forgetUnconfirmedEffect(key, lease: third.lease, startedAttempt: seen.attempt)
        let restarted = try await ledger.beginEffect(key, lease: third.lease, attempt: 3, worker: "w3", now: now.addingTimeInterval(64))
        try check.that(restarted == .started, "attempt 3 starts the effect, got \(restarted)")
        // The stale attempt 2 wakes up: the ledger tells it nothing, and it cannot forget attempt 3's record.
        let staleBegin = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(65))
        try check.that(staleBegin == .leaseLost, "a stale attempt is refused before it learns of an existing record, got \(staleBegin)")
        do {
            try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: 1)
        } catch let error as SuretyError where error.code == .leaseLost {
            // Refusing with leaseLost is as good as forgetting nothing.
        }
        let records = try await ledger.effects(of: id).filter { $0.key == key }
        try check.that(records.count == 1 && records[0].state == .started && records[0].attempt == 3,
                       "attempt 3's started record survives a stale forget, got \(records.map { ($0.state, $0.attempt) })")
        // Even the live holder forgets only the record it saw.
        try await ledger.forgetUnconfirmedEffect(key, lease: third.lease, startedAttempt: 1)
        let kept = try await ledger.effects(of: id).filter { $0.key == key }
        try check.that(kept.count == 1 && kept[0].attempt == 3, "a forget names the attempt whose record it saw; another attempt's record stays")
    }
}
