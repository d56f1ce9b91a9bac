import Foundation
import Surety

extension StoreConformance {
    func effects(_ store: any OperatedStore, _ check: Check) async throws {
        guard let ledger = store as? any EffectLedgerStore & OperatedStore else {
            try check.fail("the store does not provide the effect ledger (EffectLedgerStore)")
        }
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job()])[0].id
        let first = try await Fixtures.claim(store)[0]
        let key = EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: "order-1")
        let begin = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        try check.that(begin == .started, "the first begin records a started effect, got \(begin)")
        let again = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        guard case .existing(let started) = again else { try check.fail("a second begin returns the existing record, got \(again)") }
        try check.that(started.state == .started && started.attempt == 1 && started.worker == "w1" && started.result == nil, "the started record keeps attempt and worker")

        // The worker dies before confirming; the rescuer takes the job back; attempt 2 sees the doubt.
        _ = try await store.finish([Fixtures.finish(first, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(31))])
        let stale = try await ledger.beginEffect(EffectKey(tenant: Fixtures.acme, jobID: id, name: "refund"), lease: first.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(32))
        try check.that(stale == .leaseLost, "a worker that lost its lease starts no new effect")
        let second = try await Fixtures.claim(store, at: now.addingTimeInterval(31))[0]
        let inDoubt = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(32))
        guard case .existing(let doubtful) = inDoubt, doubtful.state == .started, doubtful.attempt == 1 else {
            try check.fail("attempt 2 finds the unconfirmed effect of attempt 1, got \(inDoubt)")
        }
        try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: doubtful.attempt)
        let restarted = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(33))
        try check.that(restarted == .started, "after forgetting an unconfirmed effect, it can start again")
        try await ledger.confirmEffect(key, result: #"{"receipt":"r-1"}"#, now: now.addingTimeInterval(34))
        try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: 2)
        let confirmed = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(35))
        guard case .existing(let record) = confirmed else { try check.fail("a confirmed effect is returned, got \(confirmed)") }
        try check.that(record.state == .confirmed && record.result == #"{"receipt":"r-1"}"# && record.confirmedAt == now.addingTimeInterval(34) && record.attempt == 2 && record.worker == "w2",
                       "a confirmed effect keeps its result and is never forgotten")

        // Keys are scoped by tenant, job, name and caller key.
        let other = try await ledger.beginEffect(EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: "order-2"), lease: second.lease, attempt: 2, worker: "w2", now: now)
        try check.that(other == .started, "another caller key is another effect")
        let listed = try await ledger.effects(of: id)
        try check.that(listed.map(\.key.key) == ["order-1", "order-2"], "the job's effects are listed oldest first, got \(listed.map(\.key.key))")
        let otherJob = try await ledger.effects(of: JobID(987_654))
        try check.that(otherJob.isEmpty, "another job has no effects")

        // Concurrent calls (a store may write them together): for each key exactly one begin
        // starts the effect and the other finds it; a stale lease starts nothing; confirmations
        // of the same effect twice at once both succeed.
        let parcels = (0..<10).map { EffectKey(tenant: Fixtures.acme, jobID: id, name: "ship", key: "parcel-\($0)") }
        let lease = second.lease, staleLease = first.lease
        let begins = try await withThrowingTaskGroup(of: (String, EffectBegin).self) { group in
            for key in parcels + parcels {
                group.addTask { (key.key, try await ledger.beginEffect(key, lease: lease, attempt: 2, worker: "w2", now: now)) }
            }
            for index in 0..<5 {
                let key = EffectKey(tenant: Fixtures.acme, jobID: id, name: "stale", key: "\(index)")
                group.addTask { ("stale", try await ledger.beginEffect(key, lease: staleLease, attempt: 1, worker: "w1", now: now)) }
            }
            var all: [(String, EffectBegin)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        for parcel in parcels {
            let answers = begins.filter { $0.0 == parcel.key }.map(\.1)
            let started = answers.filter { $0 == .started }.count
            let found = answers.filter { if case .existing(let record) = $0 { record.state == .started } else { false } }.count
            try check.that(started == 1 && found == 1, "two concurrent begins of \(parcel.key): one starts it, one finds it, got \(answers)")
        }
        try check.that(begins.filter { $0.0 == "stale" }.allSatisfy { $0.1 == .leaseLost }, "concurrent begins under a lost lease start nothing")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for key in parcels + [parcels[0]] {
                group.addTask { try await ledger.confirmEffect(key, result: #""shipped""#, now: now.addingTimeInterval(40)) }
            }
            try await group.waitForAll()
        }
        let shipped = try await ledger.effects(of: id).filter { $0.key.name == "ship" }
        try check.that(shipped.count == 10 && shipped.allSatisfy { $0.state == .confirmed && $0.result == #""shipped""# },
                       "concurrent confirmations all hold, got \(shipped.map(\.state))")
        let staleRecords = try await ledger.effects(of: id).filter { $0.key.name == "stale" }
        try check.that(staleRecords.isEmpty, "no effect was recorded under the lost lease")
    }
}
