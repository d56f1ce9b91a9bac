import Foundation

/// A workflow as stored: the unit operators see (`surety workflows show`).
public struct WorkflowRecord: Sendable, Hashable, Codable {
    public var id: WorkflowID
    /// The workflow's name as declared (``Workflow/name``), for example `"monthly-report"`.
    public var name: String
    /// Every step runs for this tenant.
    public var tenant: TenantID
    public var state: WorkflowState
    /// Held while the workflow runs: enqueueing another workflow of the same tenant with this key
    /// returns this one. `nil`: no key.
    public var uniqueKey: String?
    public var createdAt: Date
    /// When the workflow left `running`.
    public var finishedAt: Date?
    /// Why it ended: the failed step, or who cancelled it and why.
    public var note: String?
    /// The steps, in declaration order.
    public var steps: [WorkflowStepRecord]

    public init(
        id: WorkflowID, name: String, tenant: TenantID, state: WorkflowState, uniqueKey: String? = nil,
        createdAt: Date, finishedAt: Date? = nil, note: String? = nil, steps: [WorkflowStepRecord]
    ) {
        self.id = id
        self.name = name
        self.tenant = tenant
        self.state = state
        self.uniqueKey = uniqueKey
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.note = note
        self.steps = steps
    }

    /// The step of that name, or `nil`.
    public func step(_ name: String) -> WorkflowStepRecord? { steps.first { $0.name == name } }
}

/// One step of a stored workflow.
public struct WorkflowStepRecord: Sendable, Hashable, Codable {
    /// Stable within the workflow, for example `"upload"`.
    public var name: String
    /// The job type it runs.
    public var type: String
    public var queue: String
    /// The steps that must complete before this one runs (empty: it runs at once).
    public var parents: [String]
    /// A compensation step runs only when a step of the workflow fails.
    public var isCompensation: Bool
    public var state: WorkflowStepState
    /// The step's job, once released.
    public var jobID: JobID?
    /// The job's state, when read with the workflow (`nil` before the step is released).
    public var jobState: JobState?
    /// The result the step's job set (JSON text), or `nil`.
    public var result: String?
    /// When the step reached a terminal state.
    public var finishedAt: Date?
    /// The job the store inserts when the step is released.
    public var template: WorkflowJobTemplate

    public init(
        name: String, parents: [String], isCompensation: Bool, state: WorkflowStepState, jobID: JobID? = nil,
        jobState: JobState? = nil, result: String? = nil, finishedAt: Date? = nil, template: WorkflowJobTemplate
    ) {
        self.name = name
        self.type = template.type
        self.queue = template.queue
        self.parents = parents
        self.isCompensation = isCompensation
        self.state = state
        self.jobID = jobID
        self.jobState = jobState
        self.result = result
        self.finishedAt = finishedAt
        self.template = template
    }
}
