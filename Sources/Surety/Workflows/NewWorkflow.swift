import Foundation

/// A workflow as handed to a store: validated by ``Workflow`` and ``JobQueue``.
public struct NewWorkflow: Sendable, Hashable {
    public var name: String
    public var tenant: TenantID
    public var uniqueKey: String?
    public var createdAt: Date
    /// In declaration order; every parent is declared before its dependants.
    public var steps: [Step]

    public struct Step: Sendable, Hashable {
        public var name: String
        public var parents: [String]
        public var isCompensation: Bool
        public var template: WorkflowJobTemplate

        public init(name: String, parents: [String], isCompensation: Bool, template: WorkflowJobTemplate) {
            self.name = name
            self.parents = parents
            self.isCompensation = isCompensation
            self.template = template
        }
    }

    public init(name: String, tenant: TenantID, uniqueKey: String? = nil, createdAt: Date, steps: [Step]) {
        self.name = name
        self.tenant = tenant
        self.uniqueKey = uniqueKey
        self.createdAt = createdAt
        self.steps = steps
    }

    /// The record a store starts from (id assigned by the store); the steps that run at once are
    /// found by ``WorkflowTransition/start(_:at:)``.
    public func record(id: WorkflowID) -> WorkflowRecord {
        WorkflowRecord(
            id: id, name: name, tenant: tenant, state: .running, uniqueKey: uniqueKey, createdAt: createdAt,
            steps: steps.map { WorkflowStepRecord(name: $0.name, parents: $0.parents, isCompensation: $0.isCompensation, state: .waiting, template: $0.template) }
        )
    }
}

/// What enqueueing a workflow returns.
public struct EnqueuedWorkflow: Sendable, Hashable {
    /// The new workflow's id, or the running one's that holds the unique key.
    public var id: WorkflowID
    /// `false` when a running workflow of the tenant holds the unique key: nothing was inserted.
    public var inserted: Bool

    public init(id: WorkflowID, inserted: Bool) {
        self.id = id
        self.inserted = inserted
    }
}
