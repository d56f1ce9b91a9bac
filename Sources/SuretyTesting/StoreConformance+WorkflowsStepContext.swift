import Foundation
import Logging
import Surety

extension StoreConformance {
    /// What a step's charge returns, for the step-context part.
    struct ConformanceReceipt: Codable, Sendable, Hashable {
        var chargeID: String
        var amount: Int
    }

    /// Part of the "workflows" group: what a step's job reads through its ``JobContext`` on this
    /// store. Its workflow and step name without a store read (`workflowID`,
    /// `workflowStepName`); `stepResult` (a completed step's result only) and `stepOutcome`
    /// (state and result in every case: running without and with a result, completed without
    /// and with one, failed with one); and a compensation reading the effect ledger of the step
    /// it undoes (`stepEffect`, `effects(ofStep:)`): the idempotency key and result of a
    /// confirmed charge, an effect left in doubt, a step without effects.
    func workflowStepContext(_ store: any WorkflowStore & OperatedStore, _ check: Check) async throws {
        let t = Fixtures.t0.addingTimeInterval(20_000)
        let queue = JobQueue(store: store, clock: TestClock(now: t))
        func context(_ job: ClaimedJob, at: Date) -> JobContext {
            JobContext(
                claimed: job, clock: TestClock(now: at), queueClient: queue, dependencies: JobDependencies(), worker: "w1",
                startedAt: at, logger: Logger(label: "surety.conformance"), redactor: Redactor(secretFields: [])
            )
        }
        func claim(_ type: String, at: Date) async throws -> ClaimedJob {
            let claimed = try await Fixtures.claim(store, at: at, limit: 10, queues: ["wf-context"])
            guard let job = claimed.first(where: { $0.type == "wf.\(type)" }), claimed.count == 1 else {
                try check.fail("step \(type) is the one claimable step, got \(claimed.map(\.type))")
            }
            return job
        }
        func refused(_ what: String, _ body: () async throws -> Void) async throws {
            do {
                try await body()
                try check.fail("\(what) is refused")
            } catch let error as SuretyError {
                try check.that(error.code == .invalidArgument, "\(what) is refused as invalid_argument, got \(error.code)")
            }
        }

        // charge → ship; side runs beside them; undo compensates.
        let enqueued = try await store.enqueueWorkflow(NewWorkflow(name: "context", tenant: Fixtures.acme, createdAt: t, steps: [
            Self.workflowStep("charge", queue: "wf-context"), Self.workflowStep("ship", queue: "wf-context", after: ["charge"]),
            Self.workflowStep("side", queue: "wf-context", after: ["charge"]), Self.workflowStep("undo", queue: "wf-context", compensation: true),
        ]))
        let chargeJob = try await claim("charge", at: t)
        let charge = context(chargeJob, at: t)
        try check.that(charge.workflowID == enqueued.id && charge.workflowStepName == "charge", "a step's context names its workflow and step without a store read")
        let plain = try await store.enqueue([Fixtures.job("wf.plain", queue: "wf-context-plain")])[0].id
        let plainClaim = try await Fixtures.claim(store, at: t, queues: ["wf-context-plain"])
        guard let plainJob = plainClaim.first, plainJob.id == plain else { try check.fail("the plain job is claimable") }
        let plainContext = context(plainJob, at: t)
        try check.that(plainContext.workflowID == nil && plainContext.workflowStepName == nil, "a plain job's context has no workflow")
        try await refused("a plain job reading a step's outcome") { _ = try await plainContext.stepOutcome("charge", as: ConformanceReceipt.self) }
        try await refused("reading a step the workflow does not have") { _ = try await charge.stepOutcome("nope", as: ConformanceReceipt.self) }

        // The charge performs an effect through the ledger and leaves another in doubt.
        let ledger = store as? any EffectLedgerStore
        let receipt = ConformanceReceipt(chargeID: "ch_1", amount: 30)
        if ledger != nil {
            // The provider's charge id is the idempotency key it was handed, so the result shows it.
            let charged = try await charge.effect("charge", key: "order-1") { key in ConformanceReceipt(chargeID: key, amount: 30) }
            try check.that(charged.amount == 30, "the charge's effect returns its result")
            let hold = try await ledger?.beginEffect(EffectKey(tenant: Fixtures.acme, jobID: chargeJob.id, name: "hold"), lease: chargeJob.lease, attempt: chargeJob.attempt, worker: "w1", now: t)
            try check.that(hold == .started, "an effect is started and never confirmed")
        } else {
            check.skip("the compensation's reading of the step's effects", lacking: .effectLedger)
        }

        // Running: not completed, no result; then a result set, still not completed.
        let running = try await charge.stepOutcome("charge", as: ConformanceReceipt.self)
        try check.that(running.state == .active && running.result == nil && !running.isCompleted && running.jobID == chargeJob.id && running.jobState == .running,
                       "a running step without a result reads as active with none, got \(running.state) \(String(describing: running.result))")
        try await charge.setStepResult(receipt)
        let runningWithResult = try await charge.stepOutcome("charge", as: ConformanceReceipt.self)
        try check.that(runningWithResult.state == .active && runningWithResult.result == receipt, "a running step's outcome shows the result set so far")
        let notYet = try await charge.stepResult("charge", as: ConformanceReceipt.self)
        try check.that(notYet == nil, "stepResult gives nothing for a step that has not completed, even one that set a result")
        _ = try await store.finish([Fixtures.finish(chargeJob, at: t.addingTimeInterval(1))])

        // Completed with a result; completed without one.
        let shipJob = try await Fixtures.claim(store, at: t.addingTimeInterval(2), limit: 10, queues: ["wf-context"])
        guard let ship = shipJob.first(where: { $0.type == "wf.ship" }), let side = shipJob.first(where: { $0.type == "wf.side" }) else {
            try check.fail("ship and side run after the charge, got \(shipJob.map(\.type))")
        }
        let shipContext = context(ship, at: t.addingTimeInterval(2))
        let completed = try await shipContext.stepOutcome("charge", as: ConformanceReceipt.self)
        try check.that(completed.isCompleted && completed.result == receipt && completed.finishedAt == t.addingTimeInterval(1), "a completed step's outcome holds its result and end")
        let parentResult = try await shipContext.stepResult("charge", as: ConformanceReceipt.self)
        try check.that(parentResult == receipt, "stepResult gives a completed parent's result")
        _ = try await store.finish([Fixtures.finish(side, at: t.addingTimeInterval(3))])
        let sideOutcome = try await shipContext.stepOutcome("side", as: ConformanceReceipt.self)
        try check.that(sideOutcome.isCompleted && sideOutcome.result == nil, "a step that completed without a result reads as completed with none")
        let sideResult = try await shipContext.stepResult("side", as: ConformanceReceipt.self)
        try check.that(sideResult == nil, "stepResult of a step completed without a result is nil")
        let waiting = try await shipContext.stepOutcome("undo", as: ConformanceReceipt.self)
        try check.that(waiting.state == .waiting && waiting.jobID == nil && waiting.result == nil, "a waiting step has no job and no result")

        // The ship step sets a result and dies: the workflow fails, the compensation runs.
        try await shipContext.setStepResult(ConformanceReceipt(chargeID: "partial", amount: 0))
        let permanent = AttemptError(type: "Permanent", message: "no address", errorClass: .permanent)
        _ = try await store.finish([Fixtures.finish(ship, at: t.addingTimeInterval(4), outcome: .failed, next: .dead(.permanentError), error: permanent)])
        let undo = context(try await claim("undo", at: t.addingTimeInterval(5)), at: t.addingTimeInterval(5))
        try check.that(undo.workflowID == enqueued.id && undo.workflowStepName == "undo", "a compensation's context names its workflow and step")
        let failed = try await undo.stepOutcome("ship", as: ConformanceReceipt.self)
        try check.that(failed.state == .failed && failed.jobState == .dead && failed.result == ConformanceReceipt(chargeID: "partial", amount: 0),
                       "a failed step's outcome shows the result its attempt left, got \(failed.state) \(String(describing: failed.result))")
        let failedResult = try await undo.stepResult("ship", as: ConformanceReceipt.self)
        try check.that(failedResult == nil, "stepResult of a failed step is nil")

        // The compensation reads the charge's effects: key, state, result.
        if ledger != nil {
            guard let effect = try await undo.stepEffect("charge", key: "order-1", ofStep: "charge", as: ConformanceReceipt.self) else {
                try check.fail("the compensation finds the charge step's effect")
            }
            let expectedKey = EffectKey(tenant: Fixtures.acme, jobID: chargeJob.id, name: "charge", key: "order-1").idempotencyKey
            try check.that(effect.idempotencyKey == expectedKey && effect.result?.chargeID == expectedKey, "the compensation reads the idempotency key the charge used, got \(effect.idempotencyKey)")
            try check.that(effect.isConfirmed && !effect.isInDoubt && effect.result?.amount == 30, "the compensation reads the charge's confirmed result")
            let hold = try await undo.stepEffect("hold", ofStep: "charge", as: ConformanceReceipt.self)
            try check.that(hold?.isInDoubt == true && hold?.result == nil, "an effect never confirmed reads as in doubt, without a result")
            let missing = try await undo.stepEffect("refund", ofStep: "charge", as: ConformanceReceipt.self)
            try check.that(missing == nil, "an effect the step never started is nil")
            let all = try await undo.effects(ofStep: "charge")
            try check.that(all.map(\.key.name).sorted() == ["charge", "hold"], "effects(ofStep:) lists the step's ledger records")
            let shipEffects = try await undo.effects(ofStep: "ship")
            try check.that(shipEffects.isEmpty, "a step without effects has none")
            let own = try await undo.effects(ofStep: "undo")
            try check.that(own.isEmpty, "each step's effects are its own job's")
        }
    }
}
