import Foundation

/// A capability: the store keeps schedules (recurring work) so that every node sees the same
/// pause state and last slot, and operators can list, pause and resume them (`surety schedules`).
///
/// Exactly one job per slot does not depend on this table: it is the unique key of each slot's
/// job. The table records what schedulers decided, so a restarted node does not redo it.
public protocol ScheduleStore: JobStore {
    /// Inserts or updates the definitions, keeping each schedule's pause state and last slot.
    /// A new schedule's `createdAt` (its first possible slot) is `now`.
    func saveSchedules(_ definitions: [ScheduleDefinition], now: Date) async throws

    /// Every stored schedule, by name.
    func schedules() async throws -> [ScheduleRecord]

    /// Pauses or resumes a schedule; returns the new record, or `nil` when no schedule has
    /// that name. The action's actor and reason are kept on the record.
    func setSchedulePaused(_ name: String, paused: Bool, action: OperatorAction) async throws -> ScheduleRecord?

    /// Records that the scheduler decided every slot up to `slot` (enqueued, or skipped by a
    /// policy). Never moves the last slot backwards, so two schedulers cannot undo each other.
    /// `jobID` is the job enqueued for `slot`, if any.
    func recordScheduleSlot(_ name: String, slot: Date, jobID: JobID?) async throws
}

/// A schedule's definition as stored (see ``Schedule``).
public struct ScheduleDefinition: Sendable, Hashable, Codable {
    public var name: String
    public var expression: String
    /// An IANA time zone identifier.
    public var timeZone: String
    public var jobType: String
    public var queue: String
    public var tenant: TenantID
    /// ``OverlapPolicy/rawValue``.
    public var overlap: String
    /// ``MissedRunPolicy/rawValue``.
    public var missed: String

    public init(name: String, expression: String, timeZone: String, jobType: String, queue: String, tenant: TenantID, overlap: String, missed: String) {
        self.name = name
        self.expression = expression
        self.timeZone = timeZone
        self.jobType = jobType
        self.queue = queue
        self.tenant = tenant
        self.overlap = overlap
        self.missed = missed
    }
}

/// A stored schedule: its definition and its state.
public struct ScheduleRecord: Sendable, Hashable, Codable {
    public var definition: ScheduleDefinition
    public var paused: Bool
    /// Who paused or resumed it last, why, and when.
    public var changedBy: String?
    public var changeReason: String?
    public var changedAt: Date?
    /// The latest slot decided (enqueued or skipped); `nil` before the first.
    public var lastSlot: Date?
    /// The job of the latest enqueued slot.
    public var lastJobID: JobID?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        definition: ScheduleDefinition, paused: Bool = false, changedBy: String? = nil, changeReason: String? = nil,
        changedAt: Date? = nil, lastSlot: Date? = nil, lastJobID: JobID? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.definition = definition
        self.paused = paused
        self.changedBy = changedBy
        self.changeReason = changeReason
        self.changedAt = changedAt
        self.lastSlot = lastSlot
        self.lastJobID = lastJobID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The next `count` slots after `date`, or `[]` when the stored expression or time zone no
    /// longer parses.
    public func nextRuns(after date: Date, count: Int) -> [Date] {
        guard let cron = try? CronExpression(definition.expression), let zone = TimeZone(identifier: definition.timeZone) else { return [] }
        return cron.nextRuns(after: date, count: count, in: zone)
    }
}
