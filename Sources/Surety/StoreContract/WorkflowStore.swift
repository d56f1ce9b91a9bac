import Foundation

/// A capability: the store keeps workflows (graphs of steps, each a job) and advances them.
///
/// The contract (checked by the conformance group "workflows"):
/// - ``enqueueWorkflows(_:)`` inserts the workflows, all their steps and the jobs of the steps
///   that run at once in ONE transaction, or nothing.
/// - Whenever a step's job ends (``JobStore/finish(_:)`` completing it, sending it to the inbox,
///   or cancelling it; ``OperatorActionStore/cancel(_:action:)``; ``CancelRequestStore``), the store
///   applies ``WorkflowTransition/stepJobsEnded(_:_:at:)`` in the SAME transaction, with the
///   workflow serialised (a row lock, or the store's single writer): a dependant step's job is
///   inserted exactly once, by the transaction that completed its last parent, so a crash cannot
///   leave it stranded and two parents completing at once cannot release it twice.
/// - Step jobs run for the workflow's tenant and are fenced by lease token like any job.
public protocol WorkflowStore: JobStore {
    /// Inserts the workflows in ONE transaction, in order, or none of them; returns one answer
    /// per workflow, in order. When a workflow's `uniqueKey` is held by a running workflow of the
    /// same tenant (one stored before, or one earlier in this batch), that workflow is not
    /// inserted and the holder's id is returned (`inserted == false`). An empty batch writes
    /// nothing.
    func enqueueWorkflows(_ workflows: [NewWorkflow]) async throws -> [EnqueuedWorkflow]

    /// One workflow with its steps (and each released step's job state), or `nil`.
    func workflow(_ id: WorkflowID) async throws -> WorkflowRecord?

    /// Workflows matching the filter with their steps, newest (highest id) first, with ids below
    /// `filter.beforeID` when it is set, at most `filter.limit`.
    func workflows(_ filter: WorkflowFilter) async throws -> [WorkflowRecord]

    /// The workflow and step a job belongs to, or `nil` for a job that is not a step.
    func workflowStep(ofJob id: JobID) async throws -> (workflow: WorkflowRecord, step: String)?

    /// Stores the result (JSON text) of a step's running attempt, conditional on its lease token:
    /// `leaseLost` when the attempt no longer holds the job (nothing written). A later call
    /// replaces an earlier one; the result a completed step keeps is the last one written.
    func setStepResult(_ result: String, lease: Lease) async throws -> FenceResult

    /// Cancels a running workflow (``WorkflowTransition/cancel(_:action:)``) in one transaction:
    /// waiting steps cancelled, waiting step jobs cancelled at once, running step jobs asked to
    /// stop (their worker cancels them at its next heartbeat), an audit row per job touched.
    /// Returns `nil` for an unknown workflow; a finished one is reported skipped.
    func cancelWorkflow(_ id: WorkflowID, action: OperatorAction) async throws -> WorkflowCancellation?
}

extension WorkflowStore {
    /// Inserts one workflow in one transaction: ``enqueueWorkflows(_:)`` of one.
    public func enqueueWorkflow(_ workflow: NewWorkflow) async throws -> EnqueuedWorkflow {
        let enqueued = try await enqueueWorkflows([workflow])
        guard let first = enqueued.first else {
            throw SuretyError(.storeCorrupt, "enqueueing a workflow returned no answer")
        }
        return first
    }
}

/// What ``WorkflowStore/cancelWorkflow(_:action:)`` did.
public struct WorkflowCancellation: Sendable, Hashable, Codable {
    public var workflow: WorkflowID
    /// `false` when the workflow had already finished (nothing changed; see `skippedReason`).
    public var cancelled: Bool
    /// Why nothing changed, when `cancelled` is `false`.
    public var skippedReason: String?
    /// What happened to the jobs of its active steps.
    public var jobs: CancellationResult

    public init(workflow: WorkflowID, cancelled: Bool, skippedReason: String? = nil, jobs: CancellationResult = CancellationResult()) {
        self.workflow = workflow
        self.cancelled = cancelled
        self.skippedReason = skippedReason
        self.jobs = jobs
    }
}
