import Foundation
import Logging
import Tracing

extension JobQueue {
    /// Enqueues a workflow for `tenant` in one transaction: the workflow, all its steps, and the
    /// jobs of the steps that run at once. Every step's job runs for `tenant`.
    /// - Parameters:
    ///   - workflow: the workflow to enqueue.
    ///   - tenant: the tenant every step's job runs for.
    ///   - uniqueKey: while a workflow of this tenant with this key runs, enqueueing another
    ///     returns the running one (`inserted == false`). Default: `nil`, the workflow's own
    ///     ``Workflow/uniqueKey`` (itself `nil` by default: no key).
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a workflow without steps (or without a
    ///   step that is not a compensation), a bad key or step options, or a store that does not
    ///   keep workflows (``WorkflowStore``).
    @discardableResult
    public func enqueue(_ workflow: Workflow, tenant: TenantID, uniqueKey: String? = nil) async throws -> EnqueuedWorkflow {
        var workflow = workflow
        if let uniqueKey { workflow.uniqueKey = uniqueKey }
        let enqueued = try await enqueue([workflow], tenant: tenant)
        guard let first = enqueued.first else { throw SuretyError(.storeCorrupt, "enqueueing a workflow returned no answer") }
        return first
    }

    /// Enqueues many workflows for `tenant` in ONE store transaction: all of them (their steps
    /// and root steps' jobs) or none. Each workflow's ``Workflow/uniqueKey`` works as in
    /// ``enqueue(_:tenant:uniqueKey:)``, also between workflows of the batch: a later workflow
    /// whose key an earlier one of the batch took returns that one (`inserted == false`).
    ///
    /// ```swift
    /// let workflows = try orders.map { order in
    ///     var workflow = try Workflow("fulfil", uniqueKey: "fulfil:\(order.id)")
    ///     try workflow.step("charge", ChargeOrder(orderID: order.id))
    ///     try workflow.step("ship", ShipOrder(orderID: order.id), after: ["charge"])
    ///     return workflow
    /// }
    /// let enqueued = try await queue.enqueue(workflows, tenant: tenant)   // one answer per workflow, in order
    /// ```
    ///
    /// - Returns: one ``EnqueuedWorkflow`` per workflow, in order; empty for an empty batch.
    /// - Throws: as ``enqueue(_:tenant:uniqueKey:)``, before anything is written when any
    ///   workflow of the batch is refused.
    @discardableResult
    public func enqueue(_ workflows: [Workflow], tenant: TenantID) async throws -> [EnqueuedWorkflow] {
        guard !workflows.isEmpty else { return [] }
        let store = try workflowStore()
        let now = clock.now()
        let trace = JobTracing.carrier(for: ServiceContext.current, tracer: tracing.resolved)
        let news = try workflows.map { try newWorkflow($0, tenant: tenant, now: now, traceContext: trace) }
        let results = try await store.enqueueWorkflows(news)
        for (workflow, result) in zip(workflows, results) {
            logger.info(result.inserted ? "workflow enqueued" : "workflow already running under its unique key", metadata: [
                "workflow_id": "\(result.id)", "workflow": "\(workflow.name)", "tenant": "\(tenant)", "steps": "\(workflow.steps.count)",
            ])
        }
        return results
    }

    /// One workflow with its steps (each released step's job state and result included), or
    /// `nil` for an unknown id. Reads the store; no tenant check (an operator's read).
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a store that does not keep workflows.
    public func workflow(_ id: WorkflowID) async throws -> WorkflowRecord? {
        try await workflowStore().workflow(id)
    }

    /// Workflows matching `filter`, newest first, at most `filter.limit`, with their steps. Page
    /// with ``WorkflowFilter/beforeID`` (the last id of the previous page), as in the example on
    /// ``WorkflowFilter``.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a negative limit or a store that does
    ///   not keep workflows.
    public func workflows(_ filter: WorkflowFilter = WorkflowFilter()) async throws -> [WorkflowRecord] {
        guard filter.limit >= 0 else { throw SuretyError(.invalidArgument, "a workflow listing's limit cannot be negative") }
        return try await workflowStore().workflows(filter)
    }

    /// Cancels a running workflow: waiting steps never run, waiting step jobs are cancelled at
    /// once, running ones cooperatively (their worker cancels the task at its next heartbeat).
    /// Compensation steps do not run. Audited per job.
    /// - Throws: ``SuretyError/Code/notFound`` for an unknown workflow; `invalidArgument` for a
    ///   blank actor or reason, or a store without workflows.
    @discardableResult
    public func cancelWorkflow(_ id: WorkflowID, by actor: String, reason: String) async throws -> WorkflowCancellation {
        let store = try workflowStore()
        let action = try OperatorAction(actor: actor, reason: reason, at: clock.now())
        guard let result = try await store.cancelWorkflow(id, action: action) else {
            throw SuretyError(.notFound, "no workflow with id \(id)")
        }
        return result
    }

    private func workflowStore() throws -> any WorkflowStore {
        guard let store = store as? any WorkflowStore else {
            throw SuretyError(.invalidArgument, "this store does not keep workflows; it must conform to WorkflowStore")
        }
        return store
    }

    /// The one place a declared ``Workflow`` becomes a ``NewWorkflow``: every step's job built by
    /// the same rules as a job's enqueue (``makeNewJob``), without a run time, delay or key.
    private func newWorkflow(_ workflow: Workflow, tenant: TenantID, now: Date, traceContext: [String: String]) throws -> NewWorkflow {
        guard workflow.steps.contains(where: { !$0.isCompensation }) else {
            throw SuretyError(.invalidArgument, "workflow '\(workflow.name)' needs at least one step that is not a compensation")
        }
        if let key = workflow.uniqueKey, key.isEmpty || key.count > 512 {
            throw SuretyError(.invalidArgument, "unique key must be 1 to 512 characters")
        }
        let steps = try workflow.steps.map { step in
            var options = step.options
            options.runAt = nil
            options.delay = nil
            let job = try makeNewJob(
                type: step.type, payload: step.payload, typeOptions: step.typeOptions, uniqueKey: nil,
                partitionKey: step.partitionKey, tenant: tenant, options: options, now: now, traceContext: traceContext
            )
            return NewWorkflow.Step(name: step.name, parents: step.parents, isCompensation: step.isCompensation, template: WorkflowJobTemplate(job))
        }
        return NewWorkflow(name: workflow.name, tenant: tenant, uniqueKey: workflow.uniqueKey, createdAt: now, steps: steps)
    }
}
