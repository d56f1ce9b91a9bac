/// A capability: the store can elect one node at a time to run a named maintenance task (lease
/// rescue, retention pruning, alert evaluation, cron ticks), so many worker nodes on one shared
/// store do not all scan the same rows. PostgreSQL implements it with session advisory locks on
/// a dedicated connection: a node that leads a task keeps leading it between passes, and another
/// node takes over when it resigns, stops, or its session dies (docs/scaling.md).
///
/// Leadership is an efficiency, never a correctness requirement: every maintenance transition is
/// itself conditional (a rescue only applies to a lease that expired, a prune only deletes rows
/// past their age), so two nodes that both believe they lead still cannot corrupt a job. Stores
/// without this capability (SQLite on one machine, the memory store) let every caller run.
public protocol MaintenanceLeadershipStore: JobStore {
    /// Runs `body` if this node holds (or can take right now, without waiting) the lock named
    /// `task`, and returns its result; returns `nil` at once when another node holds it.
    func ifLeader<T: Sendable>(
        of task: String, _ body: @Sendable () async throws -> T
    ) async throws -> T?

    /// Gives up the leadership of `task` if this node holds it, so another node takes it at its
    /// next pass. A service that runs passes under ``ifLeader(of:_:)`` calls it when it stops.
    /// Default: does nothing (a store whose leadership lasts only as long as each body).
    func resignLeadership(of task: String) async
}

extension MaintenanceLeadershipStore {
    public func resignLeadership(of task: String) async {}
}

extension JobStore {
    /// Runs `body` when this node leads `task` on a store with ``MaintenanceLeadershipStore``, or
    /// always on a store without it. Returns `nil` when another node leads.
    public func asMaintenanceLeader<T: Sendable>(
        of task: String, _ body: @Sendable () async throws -> T
    ) async throws -> T? {
        if let elector = self as? any MaintenanceLeadershipStore {
            return try await elector.ifLeader(of: task, body)
        }
        return try await body()
    }

    /// Gives up the leadership of `task` on a store with ``MaintenanceLeadershipStore`` (nothing
    /// otherwise). Call it when a service that runs `task` stops.
    public func resignMaintenanceLeadership(of task: String) async {
        if let elector = self as? any MaintenanceLeadershipStore {
            await elector.resignLeadership(of: task)
        }
    }
}
