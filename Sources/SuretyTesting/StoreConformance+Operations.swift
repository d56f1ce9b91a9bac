import Foundation
import Surety

/// The operations groups: retention, the stored trace context, dead-letter filters and the
/// staggered release of requeued jobs.
extension StoreConformance {
    /// Makes a dead job (one failed attempt, max attempts 1) finished at `at`, in `queue`.
    private func deadJob(_ store: any OperatedStore, type: String = "test.job", queue: String, at: Date, error: AttemptError = Fixtures.boom) async throws -> JobID {
        let id = try await store.enqueue([Fixtures.job(type, queue: queue, maxAttempts: 1)])[0].id
        let claimed = try await Fixtures.claim(store, queues: [queue])
        guard let job = claimed.first(where: { $0.id == id }) else { throw ConformanceFailure(group: "fixture", check: "the new job can be claimed") }
        _ = try await store.finish([Fixtures.finish(job, at: at, outcome: .failed, next: .dead(.maxAttempts), error: error)])
        return id
    }

    func retention(_ store: any OperatedStore, _ check: Check) async throws {
        guard let retention = store as? any RetentionStore & OperatedStore else { try check.fail("the store implements RetentionStore") }
        let t0 = Fixtures.t0
        // Three completed jobs at t0+1, t0+2, t0+3; one still waiting; two dead at t0+1 and t0+10.
        var completed: [JobID] = []
        for index in 1...3 {
            let id = try await store.enqueue([Fixtures.job(queue: "done")])[0].id
            let job = try await Fixtures.claim(store, queues: ["done"])[0]
            _ = try await store.finish([Fixtures.finish(job, at: t0.addingTimeInterval(Double(index)), outcome: .succeeded, next: .completed)])
            completed.append(id)
        }
        let waiting = try await store.enqueue([Fixtures.job(queue: "waiting")])[0].id
        let oldDead = try await deadJob(store, queue: "dead", at: t0.addingTimeInterval(1))
        let newDead = try await deadJob(store, queue: "dead", at: t0.addingTimeInterval(10))
        _ = try await store.requeue([oldDead], action: Fixtures.operatorAction("retry once", at: t0.addingTimeInterval(2)))
        let again = try await Fixtures.claim(store, at: t0.addingTimeInterval(3), queues: ["dead"])
        try check.that(again.map(\.id) == [oldDead], "the requeued job is claimed again")
        var hasEffect = false
        if let ledger = store as? any EffectLedgerStore & OperatedStore {
            let key = EffectKey(tenant: Fixtures.acme, jobID: oldDead, name: "charge")
            _ = try await ledger.beginEffect(key, lease: again[0].lease, attempt: again[0].attempt, worker: "w1", now: t0.addingTimeInterval(3))
            try await ledger.confirmEffect(key, result: "{}", now: t0.addingTimeInterval(3))
            let recorded = try await ledger.effects(of: oldDead)
            try check.that(recorded.count == 1, "fixture: the effect is recorded")
            hasEffect = true
        }
        _ = try await store.finish([Fixtures.finish(again[0], at: t0.addingTimeInterval(4), outcome: .failed, next: .dead(.maxAttempts), error: Fixtures.boom)])

        let cutoff = t0.addingTimeInterval(2.5)
        let countCompleted = try await retention.countPrunableJobs(in: .completed, finishedBefore: cutoff)
        try check.that(countCompleted == 2, "two completed jobs finished before the cutoff, counted \(countCompleted)")
        let first = try await retention.pruneJobs(in: .completed, finishedBefore: cutoff, limit: 1)
        try check.that(first == 1, "a batch deletes at most its limit, deleted \(first)")
        let firstGone = try await store.job(completed[0])
        try check.that(firstGone == nil, "the oldest job goes first")
        let second = try await retention.pruneJobs(in: .completed, finishedBefore: cutoff, limit: 10)
        try check.that(second == 1, "the next batch deletes the rest, deleted \(second)")
        let kept = try await store.job(completed[2])
        try check.that(kept?.state == .completed, "a job finished after the cutoff is kept")
        let waitingJob = try await store.job(waiting)
        try check.that(waitingJob != nil, "waiting jobs are never pruned")
        let none = try await retention.pruneJobs(in: .available, finishedBefore: .distantFuture, limit: 10)
        try check.that(none == 0, "only terminal states are pruned")

        // Dead: oldDead finished again at t0+4, newDead at t0+10.
        let deadCount = try await retention.countPrunableJobs(in: .dead, finishedBefore: t0.addingTimeInterval(5))
        try check.that(deadCount == 1, "one dead job finished before t0+5, counted \(deadCount)")
        let prunedDead = try await retention.pruneJobs(in: .dead, finishedBefore: t0.addingTimeInterval(5), limit: 10)
        try check.that(prunedDead == 1, "the old dead job is pruned, deleted \(prunedDead)")
        let oldDeadRecord = try await store.job(oldDead)
        let oldAttempts = try await store.attempts(of: oldDead)
        try check.that(oldDeadRecord == nil && oldAttempts.isEmpty, "a pruned job's attempt history goes with it")
        if hasEffect, let ledger = store as? any EffectLedgerStore & OperatedStore {
            let effects = try await ledger.effects(of: oldDead)
            try check.that(effects.isEmpty, "a pruned job's effect rows go with it")
        }
        let newDeadRecord = try await store.job(newDead)
        try check.that(newDeadRecord?.state == .dead, "a younger dead job stays")

        // Audit rows outlive their job, then go after their own age; a live job's audit stays.
        let auditOfGone = try await store.audit(of: oldDead)
        try check.that(auditOfGone.count == 1, "audit rows stay when their job is pruned")
        _ = try await store.discard([newDead], action: Fixtures.operatorAction("won't fix", at: t0.addingTimeInterval(3)))
        let auditCount = try await retention.countPrunableAudit(before: t0.addingTimeInterval(1000))
        try check.that(auditCount == 1, "only audit rows of gone jobs are prunable, counted \(auditCount)")
        let tooYoung = try await retention.pruneAudit(before: t0.addingTimeInterval(1), limit: 10)
        try check.that(tooYoung == 0, "audit rows younger than the cutoff stay")
        let auditPruned = try await retention.pruneAudit(before: t0.addingTimeInterval(1000), limit: 10)
        try check.that(auditPruned == 1, "old audit rows of gone jobs are pruned, deleted \(auditPruned)")
        let liveAudit = try await store.audit(of: newDead)
        try check.that(liveAudit.count == 1, "the audit of a job that still exists is kept")
    }

    func traceContext(_ store: any OperatedStore, _ check: Check) async throws {
        var traced = Fixtures.job(queue: "traced")
        traced.traceContext = ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vendor=1"]
        let plain = Fixtures.job(queue: "traced")
        let ids = try await store.enqueue([traced, plain]).map(\.id)
        let record = try await store.job(ids[0])
        try check.that(record?.traceContext == traced.traceContext, "the trace context is stored with the job")
        let plainRecord = try await store.job(ids[1])
        try check.that(plainRecord?.traceContext.isEmpty == true, "a job enqueued without a trace has none")
        let claimed = try await Fixtures.claim(store, queues: ["traced"])
        let claimedTraced = claimed.first { $0.id == ids[0] }
        try check.that(claimedTraced?.traceContext == traced.traceContext, "a claim hands the trace context to the worker")
        try check.that(claimed.first { $0.id == ids[1] }?.traceContext.isEmpty == true, "a claim of an untraced job has none")
        let listed = try await store.jobs(JobFilter(queues: ["traced"]))
        try check.that(listed.first { $0.id == ids[0] }?.traceContext == traced.traceContext, "listings carry the trace context")
    }

    func deadLetterFilters(_ store: any OperatedStore, _ check: Check) async throws {
        let t0 = Fixtures.t0
        let timeout = AttemptError(type: "Timeout", message: "attempt exceeded its timeout", errorClass: .transient)
        let refused = AttemptError(type: "ProviderRefused", message: "invalid address", errorClass: .permanent)
        let a = try await deadJob(store, type: "app.email", queue: "mail", at: t0.addingTimeInterval(10), error: timeout)
        let b = try await deadJob(store, type: "app.email", queue: "mail", at: t0.addingTimeInterval(20), error: refused)
        let c = try await deadJob(store, type: "app.sms", queue: "mail", at: t0.addingTimeInterval(30), error: timeout)

        var byType = JobFilter(states: [.dead], types: ["app.email"])
        byType.errorTypes = ["Timeout"]
        let timeouts = try await store.jobs(byType)
        try check.that(timeouts.map(\.id) == [a], "filter by type and error type, got \(timeouts.map(\.id))")
        var byClass = JobFilter(states: [.dead])
        byClass.errorClass = .transient
        let transient = try await store.jobs(byClass)
        try check.that(Set(transient.map(\.id)) == [a, c], "filter by error class, got \(transient.map(\.id))")
        var window = JobFilter(states: [.dead])
        window.finishedAfter = t0.addingTimeInterval(15)
        window.finishedBefore = t0.addingTimeInterval(30)
        let inWindow = try await store.jobs(window)
        try check.that(inWindow.map(\.id) == [b], "filter by the time a job died, got \(inWindow.map(\.id))")

        // A requeue with a later release time: scheduled until then, not claimable before.
        let release = t0.addingTimeInterval(200)
        let action = try OperatorAction(actor: "ops@example.com", reason: "provider key rotated", at: t0.addingTimeInterval(100), releaseAt: release)
        let result = try await store.requeue([a], action: action)
        try check.that(result.changed == [a], "the staggered requeue applies")
        let requeued = try await store.job(a)
        try check.that(requeued?.state == .scheduled && requeued?.runAt == release && requeued?.attempt == 0, "a staggered requeue is scheduled for its release time")
        let early = try await Fixtures.claim(store, at: t0.addingTimeInterval(150), queues: ["mail"])
        try check.that(early.isEmpty, "it is not claimable before its release time")
        let onTime = try await Fixtures.claim(store, at: release, queues: ["mail"])
        try check.that(onTime.map(\.id) == [a], "it is claimable at its release time")
        let audit = try await store.audit(of: a)
        try check.that(audit.first?.at == action.at, "the audit row records when the operator acted")
    }
}
