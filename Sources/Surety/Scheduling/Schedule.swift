import Foundation

/// A recurring job: a stable name, a cron expression in a time zone, the job to enqueue for
/// each slot, and what to do about overlap and missed slots.
///
/// ```swift
/// let nightly = try Schedule(
///     name: "nightly-report", cron: "0 30 2 * * *", timeZone: "Europe/Berlin",
///     job: GenerateReport(kind: "daily"), tenant: .system
/// )
/// let scheduler = Scheduler(store: store, schedules: [nightly])
/// ```
///
/// Each slot becomes at most one job across all nodes: the job's unique key is
/// `schedule:NAME@SLOT` (slot in ISO 8601 UTC) with ``UniqueScope/forever``.
public struct Schedule: Sendable, Hashable {
    /// Stable across deploys: the name is part of every slot's unique key.
    public var name: String
    public var cron: CronExpression
    public var timeZone: TimeZone
    public var jobType: String
    /// The payload as JSON text.
    public var payload: String
    public var tenant: TenantID
    public var queue: String
    public var priority: Int
    public var maxAttempts: Int
    /// Default: ``OverlapPolicy/skip``.
    public var overlap: OverlapPolicy
    /// Default: ``MissedRunPolicy/runLatest``.
    public var missed: MissedRunPolicy
    /// How late a slot may be seen and still count as on time. Default: 60 s.
    public var lateness: Duration

    /// - Parameters:
    ///   - name: 1 to 200 characters, no whitespace.
    ///   - cron: see ``CronExpression``.
    ///   - timeZone: an IANA identifier such as `"Europe/Berlin"`. Default: `"UTC"`.
    ///   - job: the job enqueued for every slot (its type's queue, priority and attempts).
    ///   - tenant: the tenant the jobs run for.
    ///   - overlap: Default: ``OverlapPolicy/skip``.
    ///   - missed: Default: ``MissedRunPolicy/runLatest``.
    ///   - lateness: Default: 60 s.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a bad name, expression or time zone.
    public init<J: Job>(
        name: String, cron: String, timeZone: String = "UTC", job: J, tenant: TenantID,
        overlap: OverlapPolicy = .skip, missed: MissedRunPolicy = .runLatest, lateness: Duration = .seconds(60)
    ) throws {
        try self.init(
            name: name, cron: try CronExpression(cron), timeZone: try Self.timeZone(timeZone), jobType: J.name,
            payload: try JobCoding.encode(job), tenant: tenant, queue: J.options.queue, priority: J.options.priority,
            maxAttempts: J.options.maxAttempts, overlap: overlap, missed: missed, lateness: lateness
        )
    }

    /// A schedule for a job type by name with a JSON payload.
    public init(
        name: String, cron: CronExpression, timeZone: TimeZone, jobType: String, payload: String, tenant: TenantID,
        queue: String = "default", priority: Int = 0, maxAttempts: Int = 20,
        overlap: OverlapPolicy = .skip, missed: MissedRunPolicy = .runLatest, lateness: Duration = .seconds(60)
    ) throws {
        guard !name.isEmpty, name.count <= 200, !name.contains(where: \.isWhitespace) else {
            throw SuretyError(.invalidArgument, "a schedule name must be 1 to 200 characters without spaces, got '\(name)'")
        }
        guard lateness >= .zero else { throw SuretyError(.invalidArgument, "lateness must not be negative") }
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.jobType = jobType
        self.payload = payload
        self.tenant = tenant
        self.queue = queue
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.overlap = overlap
        self.missed = missed
        self.lateness = lateness
    }

    /// A time zone by IANA identifier.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for an unknown identifier.
    public static func timeZone(_ identifier: String) throws -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else {
            throw SuretyError(.invalidArgument, "unknown time zone '\(identifier)'; use an IANA name such as Europe/Berlin or UTC")
        }
        return zone
    }

    /// The unique key of the job for `slot`: `schedule:NAME@2026-03-29T01:00:00Z`.
    public func uniqueKey(slot: Date) -> String { "schedule:\(name)@\(Self.slotText(slot))" }

    /// The tag every job of this schedule carries: `schedule:NAME`.
    public var tag: String { "schedule:\(name)" }

    static func slotText(_ slot: Date) -> String { slot.formatted(.iso8601) }

    /// What the store keeps of this schedule's definition.
    public var definition: ScheduleDefinition {
        ScheduleDefinition(
            name: name, expression: cron.text, timeZone: timeZone.identifier, jobType: jobType, queue: queue,
            tenant: tenant, overlap: overlap.rawValue, missed: missed.rawValue
        )
    }
}
