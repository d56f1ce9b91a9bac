import Foundation
import Surety

extension StoreConformance {
    /// Part of the "workflows" group: times stay in causal order whatever order the store
    /// serialises finishes in. Each attempt's end time is taken before its write is serialised,
    /// so the finish stamped later can commit first; the step released by the second commit must
    /// still be enqueued no earlier than every parent finished, each step's `finishedAt` is its
    /// own job's `finished_at` (in a batch too), and a workflow does not finish before its steps.
    func workflowReleaseTimes(_ store: any WorkflowStore & OperatedStore, _ check: Check) async throws {
        let t = Fixtures.t0.addingTimeInterval(5_000)
        func fork(_ name: String, at: Date) async throws -> (WorkflowID, ClaimedJob, ClaimedJob) {
            let enqueued = try await store.enqueueWorkflow(NewWorkflow(name: name, tenant: Fixtures.acme, createdAt: at, steps: [
                Self.workflowStep("left", queue: "wf-times"), Self.workflowStep("right", queue: "wf-times"),
                Self.workflowStep("join", queue: "wf-times", after: ["left", "right"]),
            ]))
            let claimed = try await Fixtures.claim(store, at: at, limit: 10, queues: ["wf-times"])
            guard let left = claimed.first(where: { $0.type == "wf.left" }), let right = claimed.first(where: { $0.type == "wf.right" }) else {
                try check.fail("\(name): both parents are claimable, got \(claimed.map(\.type))")
            }
            return (enqueued.id, left, right)
        }
        func expectOrdered(_ id: WorkflowID, left: Date, right: Date, _ what: String) async throws {
            guard let workflow = try await store.workflow(id), let joinID = workflow.step("join")?.jobID,
                  let join = try await store.job(joinID) else {
                try check.fail("\(what): the join step was released")
            }
            try check.that(workflow.step("left")?.finishedAt == left && workflow.step("right")?.finishedAt == right,
                           "\(what): each step finished when its own job did, got left \(String(describing: workflow.step("left")?.finishedAt)) right \(String(describing: workflow.step("right")?.finishedAt))")
            let latest = max(left, right)
            try check.that(join.enqueuedAt >= latest && join.runAt >= latest,
                           "\(what): the released step is enqueued (\(join.enqueuedAt)) no earlier than its last parent finished (\(latest))")
            let claimed = try await Fixtures.claim(store, at: latest.addingTimeInterval(1), limit: 10, queues: ["wf-times"])
            guard let joinClaim = claimed.first, claimed.count == 1 else { try check.fail("\(what): the join step runs once its parents finished") }
            _ = try await store.finish([Fixtures.finish(joinClaim, at: latest.addingTimeInterval(2))])
            let done = try await store.workflow(id)
            try check.that(done?.state == .completed && (done?.finishedAt ?? .distantPast) >= latest.addingTimeInterval(2),
                           "\(what): the workflow completes no earlier than its last step")
        }

        // Two calls: the finish stamped later (left, t+5) commits before the one stamped earlier
        // (right, t+3), which releases the child.
        let (sequential, left, right) = try await fork("times-sequential", at: t)
        _ = try await store.finish([Fixtures.finish(left, at: t.addingTimeInterval(5))])
        _ = try await store.finish([Fixtures.finish(right, at: t.addingTimeInterval(3))])
        try await expectOrdered(sequential, left: t.addingTimeInterval(5), right: t.addingTimeInterval(3), "two finishes committed out of time order")

        // One batch whose first finish is stamped earlier than its second.
        let u = t.addingTimeInterval(100)
        let (batched, bLeft, bRight) = try await fork("times-batch", at: u)
        _ = try await store.finish([Fixtures.finish(bRight, at: u.addingTimeInterval(3)), Fixtures.finish(bLeft, at: u.addingTimeInterval(5))])
        try await expectOrdered(batched, left: u.addingTimeInterval(5), right: u.addingTimeInterval(3), "one batch of finishes with different end times")

        // Concurrent finishes, stamped apart: whichever commits second releases the child.
        for round in 0..<6 {
            let v = t.addingTimeInterval(200 + Double(round) * 20)
            let (raced, rLeft, rRight) = try await fork("times-race", at: v)
            let leftAt = v.addingTimeInterval(round.isMultiple(of: 2) ? 5 : 3)
            let rightAt = v.addingTimeInterval(round.isMultiple(of: 2) ? 3 : 5)
            async let l = store.finish([Fixtures.finish(rLeft, at: leftAt)])
            async let r = store.finish([Fixtures.finish(rRight, at: rightAt)])
            let results = try await (l, r)
            try check.that(results.0 == [.applied] && results.1 == [.applied], "round \(round): both parents complete")
            try await expectOrdered(raced, left: leftAt, right: rightAt, "round \(round) of two parents finishing at once")
        }
    }

    /// A step for the workflow parts: job type `wf.<name>` on `queue`, 2 attempts.
    static func workflowStep(_ name: String, queue: String = "wf", after: [String] = [], compensation: Bool = false) -> NewWorkflow.Step {
        NewWorkflow.Step(name: name, parents: after, isCompensation: compensation, template: WorkflowJobTemplate(
            Fixtures.job("wf.\(name)", queue: queue, payload: #"{"step":"\#(name)"}"#, maxAttempts: 2)
        ))
    }
}
