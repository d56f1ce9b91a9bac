import Foundation
import Surety

extension StoreConformance {
    /// An operator records what they found at the provider on an in-doubt effect (issue 16,
    /// item 10): `happened` confirms the `started` record with the given result, `didNotHappen`
    /// removes it, each with a `resolve_effect` audit row; confirmed effects, running jobs'
    /// effects, unknown effects and results that are not JSON are refused and change nothing.
    func effectResolution(_ store: any OperatedStore, _ check: Check) async throws {
        guard let ledger = store as? any EffectLedgerStore & OperatedStore else {
            try check.fail("the store does not provide the effect ledger (EffectLedgerStore)")
        }
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job()])[0].id
        let charge = EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: "order-1")
        let mail = EffectKey(tenant: Fixtures.acme, jobID: id, name: "mail")
        let receipt = EffectKey(tenant: Fixtures.acme, jobID: id, name: "receipt")
        let action = Fixtures.operatorAction("checked the provider's dashboard")

        // Attempt 1 starts two effects and confirms a third, and is still running.
        let first = try await Fixtures.claim(store)[0]
        _ = try await ledger.beginEffect(charge, lease: first.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(1))
        _ = try await ledger.beginEffect(mail, lease: first.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(2))
        _ = try await ledger.beginEffect(receipt, lease: first.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(3))
        try await ledger.confirmEffect(receipt, result: #""r-0""#, now: now.addingTimeInterval(4))

        try await expectRefusal(.invalidState, "a running job's effect", check) {
            try await ledger.resolveEffect(charge, finding: .happened(result: "null"), action: action)
        }
        try await expectRefusal(.invalidState, "a running job's effect (did not happen)", check) {
            try await ledger.resolveEffect(mail, finding: .didNotHappen, action: action)
        }
        let whileRunning = try await ledger.effects(of: id)
        try check.that(whileRunning.filter { $0.state == .started }.count == 2, "a refused resolution changes nothing, got \(whileRunning.map(\.state))")
        try check.that(try await store.audit(of: id).isEmpty, "a refused resolution writes no audit row")

        // The attempt ends in the inbox, in doubt.
        let inDoubt = AttemptError(type: "EffectInDoubt", message: "effect 'charge' was started and never confirmed", errorClass: .permanent)
        _ = try await store.finish([Fixtures.finish(first, at: now.addingTimeInterval(5), outcome: .failed, next: .dead(.inDoubt), error: inDoubt)])

        // Refusals: unknown effect, unknown job, another tenant's key, a confirmed effect, a result that is not JSON.
        try await expectRefusal(.notFound, "an unknown effect name", check) {
            try await ledger.resolveEffect(EffectKey(tenant: Fixtures.acme, jobID: id, name: "refund"), finding: .didNotHappen, action: action)
        }
        try await expectRefusal(.notFound, "an unknown caller key", check) {
            try await ledger.resolveEffect(EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: "order-2"), finding: .didNotHappen, action: action)
        }
        try await expectRefusal(.notFound, "another tenant's key", check) {
            try await ledger.resolveEffect(EffectKey(tenant: Fixtures.globex, jobID: id, name: "charge", key: "order-1"), finding: .didNotHappen, action: action)
        }
        try await expectRefusal(.notFound, "an unknown job", check) {
            try await ledger.resolveEffect(EffectKey(tenant: Fixtures.acme, jobID: JobID(987_654), name: "charge"), finding: .didNotHappen, action: action)
        }
        try await expectRefusal(.invalidState, "a confirmed effect", check) {
            try await ledger.resolveEffect(receipt, finding: .didNotHappen, action: action)
        }
        try await expectRefusal(.invalidPayload, "a result that is not JSON", check) {
            try await ledger.resolveEffect(charge, finding: .happened(result: "ch_123"), action: action)
        }
        let afterRefusals = try await ledger.effects(of: id)
        try check.that(afterRefusals.map(\.state) == [.started, .started, .confirmed] && afterRefusals[2].result == #""r-0""#,
                       "refused resolutions change nothing, got \(afterRefusals.map { ($0.key.name, $0.state) })")
        try check.that(try await store.audit(of: id).isEmpty, "refused resolutions write no audit row")

        // Happened: confirmed with the operator's result, audited.
        let resolved = try await ledger.resolveEffect(charge, finding: .happened(result: #"{"receipt":"ch_123"}"#), action: action)
        try check.that(resolved?.key == charge && resolved?.state == .confirmed && resolved?.result == #"{"receipt":"ch_123"}"#,
                       "resolve happened returns the record confirmed with the result, got \(String(describing: resolved))")
        try check.that(resolved?.confirmedAt == action.at && resolved?.attempt == 1 && resolved?.worker == "w1",
                       "the confirmed record keeps who started it and is confirmed at the action's time, got \(String(describing: resolved))")
        let stored = try await ledger.effects(of: id).first { $0.key == charge }
        try check.that(stored == resolved, "the ledger holds the returned record, got \(String(describing: stored))")
        var audit = try await store.audit(of: id)
        try check.that(audit.count == 1, "resolve happened writes one audit row, got \(audit.count)")
        if let row = audit.first {
            try check.that(row.action == "resolve_effect" && row.actor == action.actor && row.at == action.at,
                           "the audit row names the action resolve_effect, the actor and the time, got \(row)")
            try check.that(row.reason.contains("happened") && !row.reason.contains("did not") && row.reason.contains("charge")
                           && row.reason.contains("order-1") && row.reason.contains(action.reason),
                           "the audit reason gives the finding, the effect's name and key, and the operator's reason, got \(row.reason)")
        }
        try await expectRefusal(.invalidState, "an effect already resolved as happened", check) {
            try await ledger.resolveEffect(charge, finding: .didNotHappen, action: action)
        }

        // Did not happen: the started record is gone, audited.
        let gone = try await ledger.resolveEffect(mail, finding: .didNotHappen, action: action)
        try check.that(gone == nil, "resolve did-not-happen returns nil (the record is gone), got \(String(describing: gone))")
        let remaining = try await ledger.effects(of: id)
        try check.that(remaining.map(\.key) == [charge, receipt], "resolve did-not-happen removes the started record, got \(remaining.map(\.key.name))")
        audit = try await store.audit(of: id)
        try check.that(audit.count == 2 && audit.last?.action == "resolve_effect" && audit.last?.reason.contains("did not happen") == true
                       && audit.last?.reason.contains("mail") == true && audit.last?.reason.contains(action.reason) == true,
                       "resolve did-not-happen writes an audit row with the finding and the effect, got \(audit.map(\.reason))")
        try await expectRefusal(.notFound, "an effect already resolved as not happened", check) {
            try await ledger.resolveEffect(mail, finding: .didNotHappen, action: action)
        }

        // The requeued job continues from the findings: the charge is confirmed, the mail starts anew.
        let requeued = try await store.requeue([id], action: Fixtures.operatorAction("resolved at the provider", at: now.addingTimeInterval(200)))
        try check.that(requeued.changed == [id], "the resolved job can be requeued")
        let next = try await Fixtures.claim(store, at: now.addingTimeInterval(200))[0]
        let chargeAgain = try await ledger.beginEffect(charge, lease: next.lease, attempt: next.attempt, worker: "w2", now: now.addingTimeInterval(201))
        guard case .existing(let confirmed) = chargeAgain, confirmed.state == .confirmed, confirmed.result == #"{"receipt":"ch_123"}"# else {
            try check.fail("after requeue the resolved effect is confirmed with the operator's result, got \(chargeAgain)")
        }
        let mailAgain = try await ledger.beginEffect(mail, lease: next.lease, attempt: next.attempt, worker: "w2", now: now.addingTimeInterval(202))
        try check.that(mailAgain == .started, "after requeue the effect that did not happen starts anew, got \(mailAgain)")

        // A waiting job (retrying after a lost attempt) can be resolved too.
        let waitingID = try await store.enqueue([Fixtures.job()])[0].id
        let waitingKey = EffectKey(tenant: Fixtures.acme, jobID: waitingID, name: "charge")
        let lost = try await Fixtures.claim(store, at: now.addingTimeInterval(300))[0]
        try check.that(lost.id == waitingID, "the second job is claimed")
        _ = try await ledger.beginEffect(waitingKey, lease: lost.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(301))
        _ = try await store.finish([Fixtures.finish(lost, at: now.addingTimeInterval(340), outcome: .lost, next: .retry(at: now.addingTimeInterval(400)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(340))])
        let waiting = try await ledger.resolveEffect(waitingKey, finding: .happened(result: "null"), action: action)
        try check.that(waiting?.state == .confirmed && waiting?.result == "null", "a waiting job's effect can be resolved, got \(String(describing: waiting))")
        try check.that(try await store.audit(of: waitingID).map(\.action) == ["resolve_effect"], "and it is audited on that job")
    }

    private func expectRefusal(_ code: SuretyError.Code, _ what: String, _ check: Check, _ body: () async throws -> EffectRecord?) async throws {
        do {
            let record = try await body()
            try check.fail("resolving \(what) is refused with \(code), but it returned \(String(describing: record))")
        } catch let error as SuretyError {
            try check.that(error.code == code, "resolving \(what) is refused with \(code), got \(error)")
        }
    }
}
