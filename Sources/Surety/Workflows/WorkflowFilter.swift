import Foundation

/// Selects workflows for listing, newest first. Empty fields match everything.
///
/// Pages by keyset, as ``JobFilter`` does: pass the last id of a page as ``beforeID`` to get the
/// next one. A page is stable while workflows are enqueued (new ones have higher ids and fall
/// before the first page), so no workflow is skipped or listed twice.
///
/// ```swift
/// var filter = WorkflowFilter(states: [.failed], limit: 100)
/// while true {
///     let page = try await queue.workflows(filter)
///     for workflow in page { print(workflow.id, workflow.name, workflow.note ?? "") }
///     guard page.count == filter.limit, let last = page.last else { break }
///     filter.beforeID = last.id
/// }
/// ```
public struct WorkflowFilter: Sendable, Hashable {
    /// Default: any state.
    public var states: [WorkflowState]
    /// Default: any tenant.
    public var tenants: [TenantID]
    /// Default: any name.
    public var name: String?
    /// Only workflows with an id below this one (paging: pass the last id of the previous page).
    /// Default: `nil`, from the newest.
    public var beforeID: WorkflowID?
    /// At most this many, newest (highest id) first. Default: 50.
    public var limit: Int

    public init(states: [WorkflowState] = [], tenants: [TenantID] = [], name: String? = nil, beforeID: WorkflowID? = nil, limit: Int = 50) {
        self.states = states
        self.tenants = tenants
        self.name = name
        self.beforeID = beforeID
        self.limit = limit
    }

    /// Whether `workflow` matches (the memory store's filter; SQL stores do the same in SQL).
    public func matches(_ workflow: WorkflowRecord) -> Bool {
        (states.isEmpty || states.contains(workflow.state))
            && (tenants.isEmpty || tenants.contains(workflow.tenant))
            && (name == nil || workflow.name == name)
            && (beforeID.map { workflow.id < $0 } ?? true)
    }
}
