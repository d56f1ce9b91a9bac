import Foundation
import Surety
import SuretySQLite
import Testing

@Suite("Effect ledger")
struct EffectLedgerTests {
    typealias F = Fixture

    @Test("effects are recorded, confirmed once, scoped by tenant, and survive reopening the file")
    func ledger() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let id = try await store.enqueue([F.job()])[0].id
        let job = try await F.claim(store)[0]
        let charge = EffectKey(tenant: F.acme, jobID: id, name: "charge", key: "order-1")
        #expect(try await store.beginEffect(charge, lease: job.lease, attempt: 1, worker: "w1", now: F.t0) == .started)
        try await store.confirmEffect(charge, result: #"{"receipt":"r-1"}"#, now: F.t0.addingTimeInterval(1))
        // A second confirmation does not overwrite the first result.
        try await store.confirmEffect(charge, result: #"{"receipt":"r-2"}"#, now: F.t0.addingTimeInterval(2))
        // A confirmation recorded without a start (a reconcile found it happened).
        let refund = EffectKey(tenant: F.acme, jobID: id, name: "refund")
        try await store.confirmEffect(refund, result: "null", now: F.t0.addingTimeInterval(3))
        // The same names under another tenant are another effect.
        let otherTenant = EffectKey(tenant: F.globex, jobID: id, name: "charge", key: "order-1")
        #expect(try await store.beginEffect(otherTenant, lease: job.lease, attempt: 1, worker: "w1", now: F.t0) == .started)

        let reopened = try temp.reopen()
        let effects = try await reopened.effects(of: id)
        #expect(effects.map(\.key) == [charge, refund, otherTenant])
        #expect(effects[0] == EffectRecord(key: charge, state: .confirmed, result: #"{"receipt":"r-1"}"#, attempt: 1, worker: "w1", startedAt: F.t0, confirmedAt: F.t0.addingTimeInterval(1)))
        #expect(effects[1].state == .confirmed && effects[1].attempt == 0 && effects[1].confirmedAt == F.t0.addingTimeInterval(3))
        #expect(effects[2].state == .started && effects[2].result == nil && effects[2].confirmedAt == nil)
        try await reopened.forgetUnconfirmedEffect(charge, lease: job.lease, startedAttempt: 1)
        try await reopened.forgetUnconfirmedEffect(otherTenant, lease: job.lease, startedAttempt: 1)
        #expect(try await reopened.effects(of: id).map(\.key) == [charge, refund])
    }
}
