import Foundation
import Surety

extension StoreConformance {
    /// Part of the "workflows" group: listing pages by keyset (``WorkflowFilter/beforeID``,
    /// newest first, stable while workflows are enqueued), and ``WorkflowStore/enqueueWorkflows(_:)``
    /// (one answer per workflow, in order; unique keys held by stored workflows and by earlier
    /// workflows of the same batch; a refused batch writes nothing).
    func workflowPagingAndBatches(_ store: any WorkflowStore & OperatedStore, _ check: Check) async throws {
        let t = Fixtures.t0.addingTimeInterval(10_000)
        func paged(_ tenant: TenantID = Fixtures.acme, key: String? = nil, name: String = "paged") -> NewWorkflow {
            NewWorkflow(name: name, tenant: tenant, uniqueKey: key, createdAt: t, steps: [
                Self.workflowStep("first", queue: "wf-paging"), Self.workflowStep("second", queue: "wf-paging", after: ["first"]),
            ])
        }

        // An empty batch writes nothing.
        let none = try await store.enqueueWorkflows([])
        try check.that(none.isEmpty, "an empty batch of workflows returns no answers")

        // Paging.
        let mine = try await store.enqueueWorkflows([paged(), paged(), paged(), paged(), paged()]).map(\.id)
        let other = try await store.enqueueWorkflow(paged(Fixtures.globex))
        try check.that(mine.count == 5 && Set(mine).count == 5 && !mine.contains(other.id), "a batch of five workflows gets five ids")
        var filter = WorkflowFilter(tenants: [Fixtures.acme], name: "paged", limit: 2)
        var pages: [[WorkflowID]] = []
        var interloper: WorkflowID?
        while pages.count < 10 {
            let page = try await store.workflows(filter).map(\.id)
            pages.append(page)
            if interloper == nil { interloper = try await store.enqueueWorkflow(paged()).id }
            guard page.count == filter.limit, let last = page.last else { break }
            filter.beforeID = last
        }
        let expected = mine.sorted(by: >)
        try check.that(pages.flatMap { $0 } == expected, "pages by beforeID list every workflow once, newest first, got \(pages)")
        try check.that(pages.map(\.count) == [2, 2, 1], "pages hold at most the limit, got \(pages.map(\.count))")
        try check.that(!pages.joined().contains(interloper ?? WorkflowID(0)), "a workflow enqueued while paging does not appear in later pages")
        let fromInterloper = try await store.workflows(WorkflowFilter(tenants: [Fixtures.acme], name: "paged", beforeID: interloper, limit: 10)).map(\.id)
        try check.that(fromInterloper == expected, "beforeID is exclusive, got \(fromInterloper)")
        let beyond = try await store.workflows(WorkflowFilter(name: "paged", beforeID: expected.last, limit: 10))
        try check.that(beyond.isEmpty, "nothing lies below the oldest workflow")
        let withSteps = try await store.workflows(WorkflowFilter(states: [.running], tenants: [Fixtures.globex], beforeID: WorkflowID(other.id.rawValue + 1), limit: 1))
        try check.that(withSteps.map(\.id) == [other.id] && withSteps.first?.steps.map(\.name) == ["first", "second"], "beforeID combines with the other filters; paged workflows carry their steps")

        // Batches with unique keys: held by a stored workflow, by an earlier workflow of the
        // batch, per tenant; the answers come in order.
        let held = try await store.enqueueWorkflow(paged(key: "batch-held", name: "keyed"))
        let batch = try await store.enqueueWorkflows([
            paged(key: "batch-a", name: "keyed"), paged(name: "keyed"), paged(key: "batch-a", name: "keyed"),
            paged(key: "batch-held", name: "keyed"), paged(Fixtures.globex, key: "batch-a", name: "keyed"),
        ])
        try check.that(batch.count == 5, "one answer per workflow of the batch")
        try check.that(batch.map(\.inserted) == [true, true, false, false, true], "keys held in or before the batch are not inserted again, got \(batch.map(\.inserted))")
        try check.that(batch[2].id == batch[0].id, "a key taken earlier in the batch returns that workflow")
        try check.that(batch[3].id == held.id, "a key held by a stored running workflow returns it")
        try check.that(Set([batch[0].id, batch[1].id, batch[4].id]).count == 3 && !Set([batch[0].id, batch[1].id, batch[4].id]).contains(held.id), "the inserted workflows get their own ids")
        let keyed = try await store.workflows(WorkflowFilter(name: "keyed", limit: 10))
        try check.that(keyed.count == 4, "the batch inserted three workflows beside the stored one, got \(keyed.count)")
        let globexKeyed = try await store.workflow(batch[4].id)
        try check.that(globexKeyed?.tenant == Fixtures.globex && globexKeyed?.uniqueKey == "batch-a", "keys are per tenant within a batch too")
        let roots = try await Fixtures.claim(store, at: t, limit: 100, queues: ["wf-paging"])
        let rootWorkflows = Set(roots.compactMap { $0.correlation[WorkflowJobTemplate.workflowKey] })
        let expectedRoots = Set((mine + [other.id, interloper ?? other.id, held.id, batch[0].id, batch[1].id, batch[4].id]).map(\.description))
        try check.that(roots.allSatisfy { $0.type == "wf.first" } && rootWorkflows == expectedRoots && roots.count == expectedRoots.count,
                       "every inserted workflow's root step, and only it, was released once")

        // A batch the store refuses writes nothing of it (stores that keep NUL characters accept it).
        let before = try await store.workflows(WorkflowFilter(name: "refused", limit: 10)).count
        var poisoned = paged(name: "refused")
        poisoned.steps[1].template.payload = "{\"step\":\"a\u{0}b\"}"
        do {
            _ = try await store.enqueueWorkflows([paged(name: "refused"), poisoned])
        } catch let error as SuretyError {
            try check.that(error.code == .invalidArgument, "a refused batch is refused as invalid_argument, got \(error.code)")
            let after = try await store.workflows(WorkflowFilter(name: "refused", limit: 10)).count
            try check.that(after == before, "a refused batch writes none of its workflows")
        }
    }
}
