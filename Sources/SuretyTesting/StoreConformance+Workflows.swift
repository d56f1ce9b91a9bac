import Foundation
import Surety

extension StoreConformance {
    /// Workflows: all steps inserted at once with only the roots runnable; results stored under
    /// the lease token; fan-out and fan-in; a retried step alone; a dead step blocking its
    /// dependants and releasing the compensation; cancellation of waiting and running steps; an
    /// operator's cancel of a step's job; unique keys; listing; and a race of two parents
    /// completing at once that must release their common child exactly once. Then the parts in
    /// the other `StoreConformance+Workflows*.swift` files: release times, paging and batches,
    /// and what a step reads through its context.
    func workflows(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any WorkflowStore & OperatedStore else {
            try check.fail("the store does not implement WorkflowStore")
        }
        let now = Fixtures.t0
        func step(_ name: String, after: [String] = [], compensation: Bool = false) -> NewWorkflow.Step {
            NewWorkflow.Step(name: name, parents: after, isCompensation: compensation, template: WorkflowJobTemplate(
                Fixtures.job("wf.\(name)", queue: "wf", payload: #"{"step":"\#(name)"}"#, maxAttempts: 2, tags: ["report"], correlation: ["user_id": "u1"])
            ))
        }
        func claimAll(_ at: Date) async throws -> [String: ClaimedJob] {
            let claimed = try await Fixtures.claim(store, at: at, limit: 50, queues: ["wf"])
            return Dictionary(claimed.map { ($0.type.replacingOccurrences(of: "wf.", with: ""), $0) }) { first, _ in first }
        }
        func complete(_ job: ClaimedJob?, at: Date) async throws {
            guard let job else { try check.fail("a step's job was expected to be claimable") }
            let done = try await store.finish([Fixtures.finish(job, at: at, outcome: .succeeded, next: .completed)])
            try check.that(done == [.applied], "the step's job completes")
        }

        // A chain with fan-out and fan-in: generate → (thumbs, charts) → upload → notify.
        let report = NewWorkflow(name: "report", tenant: Fixtures.acme, uniqueKey: "report-u1", createdAt: now, steps: [
            step("generate"), step("thumbs", after: ["generate"]), step("charts", after: ["generate"]),
            step("upload", after: ["thumbs", "charts"]), step("notify", after: ["upload"]), step("cleanup", compensation: true),
        ])
        let enqueued = try await store.enqueueWorkflow(report)
        try check.that(enqueued.inserted, "a new workflow is inserted")
        guard let started = try await store.workflow(enqueued.id) else { try check.fail("the workflow is readable") }
        try check.that(started.state == .running && started.name == "report" && started.tenant == Fixtures.acme, "a new workflow runs for its tenant")
        try check.that(started.steps.map(\.name) == ["generate", "thumbs", "charts", "upload", "notify", "cleanup"], "steps keep declaration order")
        try check.that(started.steps.map(\.state) == [.active, .waiting, .waiting, .waiting, .waiting, .waiting], "only the root step is released, got \(started.steps.map(\.state))")
        try check.that(started.steps.filter { $0.jobID != nil }.count == 1, "only the root step has a job")
        try check.that(started.step("upload")?.parents == ["thumbs", "charts"] && started.step("cleanup")?.isCompensation == true, "parents and compensation round-trip")
        let again = try await store.enqueueWorkflow(report)
        try check.that(!again.inserted && again.id == enqueued.id, "a running workflow holds its unique key")
        var otherTenant = report
        otherTenant.tenant = Fixtures.globex
        let globex = try await store.enqueueWorkflow(otherTenant)
        try check.that(globex.inserted && globex.id != enqueued.id, "unique keys are per tenant")

        let roots = try await Fixtures.claim(store, at: now, limit: 50, queues: ["wf"])
        try check.that(roots.map(\.type) == ["wf.generate", "wf.generate"], "only the roots of the two workflows are claimable, got \(roots.map(\.type))")
        let nothing = try await Fixtures.claim(store, at: now, queues: ["wf"])
        try check.that(nothing.isEmpty, "nothing else is runnable")
        guard let rootID = started.step("generate")?.jobID, let rootClaim = roots.first(where: { $0.id == rootID }),
              let root = try await store.job(rootID) else {
            try check.fail("the root's job exists and was claimed")
        }
        let globexRoot = roots.first { $0.id != rootID }
        try check.that(globexRoot?.tenant == Fixtures.globex, "the other tenant's root runs for that tenant")
        var jobs: [String: ClaimedJob] = [:]
        try check.that(root.tenant == Fixtures.acme && root.correlation["workflow_id"] == enqueued.id.description && root.correlation["workflow_step"] == "generate", "a step's job carries the tenant and the workflow's ids")
        try check.that(root.correlation["user_id"] == "u1" && root.tags == ["report"], "a step's job keeps its correlation and tags")
        let located = try await store.workflowStep(ofJob: root.id)
        try check.that(located?.workflow.id == enqueued.id && located?.step == "generate", "a step's job finds its workflow")
        let unrelated = try await store.enqueue([Fixtures.job()])[0].id
        let none = try await store.workflowStep(ofJob: unrelated)
        try check.that(none == nil, "a plain job is not a step")

        // Results are fenced by the lease token.
        let stale = Lease(jobID: root.id, token: rootClaim.lease.token &+ 1)
        let refused = try await store.setStepResult(#"{"url":"stale"}"#, lease: stale)
        try check.that(refused == .leaseLost, "a result under a stale token is refused")
        let stored = try await store.setStepResult(#"{"url":"s3://r/1"}"#, lease: rootClaim.lease)
        try check.that(stored == .applied, "a result under the held token is stored")
        let plainClaim = try await Fixtures.claim(store, at: now)
        if let plain = plainClaim.first {
            let notStep = try await store.setStepResult("1", lease: plain.lease)
            try check.that(notStep == .leaseLost, "a plain job has no step result")
        }
        try await complete(rootClaim, at: now.addingTimeInterval(1))
        guard let fanned = try await store.workflow(enqueued.id) else { try check.fail("the workflow is readable") }
        try check.that(fanned.step("generate")?.state == .completed && fanned.step("generate")?.result == #"{"url":"s3://r/1"}"#, "a completed step keeps its result")
        try check.that(fanned.step("generate")?.jobState == .completed, "a step shows its job's state")
        try check.that(fanned.step("thumbs")?.state == .active && fanned.step("charts")?.state == .active, "fan-out: both children are released")
        try check.that(fanned.step("upload")?.state == .waiting, "the fan-in step waits for both parents")

        // One child fails an attempt and retries alone; the other completes; upload still waits.
        jobs = try await claimAll(now.addingTimeInterval(2))
        try check.that(Set(jobs.keys) == ["thumbs", "charts"], "the released children are claimable, got \(jobs.keys.sorted())")
        _ = try await store.finish([Fixtures.finish(jobs["thumbs"]!, at: now.addingTimeInterval(3), outcome: .failed, next: .retry(at: now.addingTimeInterval(10)), error: Fixtures.boom)])
        try await complete(jobs["charts"], at: now.addingTimeInterval(3))
        guard let halfway = try await store.workflow(enqueued.id) else { try check.fail("the workflow is readable") }
        try check.that(halfway.step("thumbs")?.state == .active && halfway.step("thumbs")?.jobState == .retrying, "a failed attempt keeps the step active while its job retries")
        try check.that(halfway.step("upload")?.state == .waiting && halfway.step("upload")?.jobID == nil, "a fan-in step is not released while one parent retries")
        let retried = try await claimAll(now.addingTimeInterval(10))
        try check.that(Array(retried.keys) == ["thumbs"], "only the failed step runs again, got \(retried.keys.sorted())")
        try await complete(retried["thumbs"], at: now.addingTimeInterval(11))
        jobs = try await claimAll(now.addingTimeInterval(12))
        try check.that(Array(jobs.keys) == ["upload"], "fan-in: upload is released once both parents completed, got \(jobs.keys.sorted())")
        try await complete(jobs["upload"], at: now.addingTimeInterval(13))
        jobs = try await claimAll(now.addingTimeInterval(14))
        try await complete(jobs["notify"], at: now.addingTimeInterval(15))
        guard let done = try await store.workflow(enqueued.id) else { try check.fail("the workflow is readable") }
        try check.that(done.state == .completed && done.finishedAt == now.addingTimeInterval(15), "the workflow completes with its last step, got \(done.state)")
        try check.that(done.step("cleanup")?.state == .skipped && done.step("cleanup")?.jobID == nil, "an unneeded compensation is skipped")
        let typeCounts = try await store.jobs(JobFilter(tenants: [Fixtures.acme], limit: 100)).filter { $0.queue == "wf" }.map(\.type)
        try check.that(typeCounts.sorted() == ["wf.charts", "wf.generate", "wf.notify", "wf.thumbs", "wf.upload"], "each step ran as exactly one job, got \(typeCounts.sorted())")
        let fresh = try await store.enqueueWorkflow(report)
        try check.that(fresh.inserted && fresh.id != enqueued.id, "a finished workflow frees its unique key")
        _ = try await store.cancelWorkflow(fresh.id, action: Fixtures.operatorAction("not needed", at: now.addingTimeInterval(16)))
        _ = try await store.cancelWorkflow(globex.id, action: Fixtures.operatorAction("not needed", at: now.addingTimeInterval(16)))
        // Drain what those cancels left claimable (nothing should be).
        let leftovers = try await claimAll(now.addingTimeInterval(17))
        try check.that(leftovers.isEmpty, "a cancelled workflow leaves nothing runnable, got \(leftovers.keys.sorted())")

        // A dead step blocks its dependants and releases the compensation.
        let failing = try await store.enqueueWorkflow(NewWorkflow(name: "failing", tenant: Fixtures.acme, createdAt: now, steps: [
            step("a"), step("b", after: ["a"]), step("c", after: ["b"]), step("side", after: ["a"]), step("undo", compensation: true),
        ]))
        jobs = try await claimAll(now.addingTimeInterval(20))
        try await complete(jobs["a"], at: now.addingTimeInterval(21))
        jobs = try await claimAll(now.addingTimeInterval(22))
        try check.that(Set(jobs.keys) == ["b", "side"], "b and side run after a")
        let permanent = AttemptError(type: "Permanent", message: "bad input", errorClass: .permanent)
        _ = try await store.finish([Fixtures.finish(jobs["b"]!, at: now.addingTimeInterval(23), outcome: .failed, next: .dead(.permanentError), error: permanent)])
        guard let failed = try await store.workflow(failing.id) else { try check.fail("the workflow is readable") }
        try check.that(failed.state == .failed && failed.note == "step 'b' failed", "a dead step fails the workflow, got \(failed.state) \(String(describing: failed.note))")
        try check.that(failed.step("b")?.state == .failed && failed.step("c")?.state == .blocked && failed.step("c")?.jobID == nil, "the dead step's dependant is blocked and never gets a job")
        try check.that(failed.step("side")?.state == .active, "a step already running goes on")
        try check.that(failed.step("undo")?.state == .active && failed.step("undo")?.jobID != nil, "the compensation is released")
        try await complete(jobs["side"], at: now.addingTimeInterval(24))
        jobs = try await claimAll(now.addingTimeInterval(25))
        try check.that(Array(jobs.keys) == ["undo"], "only the compensation runs after the failure, got \(jobs.keys.sorted())")
        try await complete(jobs["undo"], at: now.addingTimeInterval(26))
        guard let compensated = try await store.workflow(failing.id) else { try check.fail("the workflow is readable") }
        try check.that(compensated.state == .failed && compensated.step("undo")?.state == .completed && compensated.step("side")?.state == .completed, "the workflow stays failed after its compensation completed")

        // Cancelling a workflow: the running step is asked to stop, the waiting job is cancelled,
        // waiting steps never run, the compensation is skipped.
        let cancelling = try await store.enqueueWorkflow(NewWorkflow(name: "cancelling", tenant: Fixtures.acme, createdAt: now, steps: [
            step("x"), step("y"), step("z", after: ["x", "y"]), step("fix", compensation: true),
        ]))
        let one = try await Fixtures.claim(store, at: now.addingTimeInterval(30), limit: 1, queues: ["wf"])
        guard let running = one.first, let wf = try await store.workflow(cancelling.id) else { try check.fail("one step of the workflow is claimable") }
        let waitingJob = wf.steps.first { $0.jobID != nil && $0.jobID != running.id }?.jobID
        let cancel = try await store.cancelWorkflow(cancelling.id, action: Fixtures.operatorAction("customer left", at: now.addingTimeInterval(31)))
        try check.that(cancel?.cancelled == true, "a running workflow is cancelled")
        try check.that(cancel?.jobs.requested == [running.id], "its running step's job is asked to stop, got \(String(describing: cancel?.jobs.requested))")
        try check.that(cancel?.jobs.cancelled == [waitingJob].compactMap { $0 }, "its waiting step's job is cancelled at once")
        guard let cancelledWF = try await store.workflow(cancelling.id) else { try check.fail("the workflow is readable") }
        try check.that(cancelledWF.state == .cancelled && cancelledWF.note == "cancelled by ops@example.com: customer left", "the workflow is cancelled with who and why")
        try check.that(cancelledWF.step("z")?.state == .cancelled && cancelledWF.step("fix")?.state == .skipped, "waiting steps are cancelled, the compensation skipped")
        let cancelledStepName = cancelledWF.steps.first { $0.jobID == waitingJob }?.name ?? ""
        try check.that(cancelledWF.step(cancelledStepName)?.state == .cancelled, "the step whose job was cancelled is cancelled")
        if let cancellable = anyStore as? any CancelRequestStore & OperatedStore {
            let heard = try await cancellable.heartbeatReportingCancellations([running.lease], until: now.addingTimeInterval(60))
            try check.that(heard.cancelRequested.map(\.lease) == [running.lease], "the running step's worker hears of the cancel")
        }
        _ = try await store.finish([Fixtures.finish(running, at: now.addingTimeInterval(32), outcome: .cancelled, next: .cancelled)])
        guard let settled = try await store.workflow(cancelling.id) else { try check.fail("the workflow is readable") }
        try check.that(settled.steps.allSatisfy(\.state.isTerminal), "every step ends, got \(settled.steps.map(\.state))")
        let twice = try await store.cancelWorkflow(cancelling.id, action: Fixtures.operatorAction("again", at: now.addingTimeInterval(33)))
        try check.that(twice?.cancelled == false && twice?.skippedReason != nil, "a finished workflow is skipped")
        let unknown = try await store.cancelWorkflow(WorkflowID(999_999), action: Fixtures.operatorAction())
        try check.that(unknown == nil, "an unknown workflow is nil")
        let audit = try await store.audit(of: running.id)
        try check.that(audit.map(\.action) == ["cancel_request"], "the cancel of a running step is audited")

        // An operator cancelling one step's waiting job directly stops the workflow too.
        let direct = try await store.enqueueWorkflow(NewWorkflow(name: "direct", tenant: Fixtures.acme, createdAt: now, steps: [
            step("p"), step("q", after: ["p"]),
        ]))
        guard let directWF = try await store.workflow(direct.id), let pJob = directWF.step("p")?.jobID else { try check.fail("the root has a job") }
        _ = try await store.cancel([pJob], action: Fixtures.operatorAction("wrong input", at: now.addingTimeInterval(40)))
        guard let directAfter = try await store.workflow(direct.id) else { try check.fail("the workflow is readable") }
        try check.that(directAfter.state == .cancelled && directAfter.step("p")?.state == .cancelled && directAfter.step("q")?.state == .cancelled, "cancelling a step's job cancels its workflow and dependants, got \(directAfter.state) \(directAfter.steps.map(\.state))")

        // Listing.
        let failedList = try await store.workflows(WorkflowFilter(states: [.failed]))
        try check.that(failedList.map(\.id) == [failing.id], "workflows filter by state")
        let all = try await store.workflows(WorkflowFilter(tenants: [Fixtures.acme], limit: 2))
        try check.that(all.map(\.id) == [direct.id, cancelling.id], "workflows list newest first within the limit, got \(all.map(\.id))")
        try check.that(all[0].steps.count == 2, "listed workflows carry their steps")

        // The race: two parents completing at once release their common child exactly once.
        for round in 0..<10 {
            let at = now.addingTimeInterval(100 + Double(round) * 10)
            let race = try await store.enqueueWorkflow(NewWorkflow(name: "race", tenant: Fixtures.acme, createdAt: at, steps: [
                step("left"), step("right"), step("join", after: ["left", "right"]),
            ]))
            let parents = try await claimAll(at)
            guard let left = parents["left"], let right = parents["right"] else { try check.fail("both parents are claimable") }
            async let l = store.finish([Fixtures.finish(left, at: at.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
            async let r = store.finish([Fixtures.finish(right, at: at.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
            let results = try await (l, r)
            try check.that(results.0 == [.applied] && results.1 == [.applied], "both parents complete")
            let joins = try await Fixtures.claim(store, at: at.addingTimeInterval(2), limit: 10, queues: ["wf"])
            try check.that(joins.map(\.type) == ["wf.join"], "round \(round): the fan-in step is released exactly once, got \(joins.map(\.type))")
            try await complete(joins.first, at: at.addingTimeInterval(3))
            let raced = try await store.workflow(race.id)
            try check.that(raced?.state == .completed, "round \(round): the raced workflow completes")
        }

        try await workflowReleaseTimes(store, check)
        try await workflowPagingAndBatches(store, check)
        try await workflowStepContext(store, check)
    }
}
