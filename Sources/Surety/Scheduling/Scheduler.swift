import Foundation
import Logging
import ServiceLifecycle

/// Enqueues the jobs of recurring schedules: a ServiceLifecycle `Service` on an injected clock.
///
/// Every ``tickInterval`` it looks at each schedule's slots since the last decided one, applies
/// the missed-run and overlap policies, and enqueues one job per chosen slot with the unique key
/// `schedule:NAME@SLOT` (``UniqueScope/forever``), so a slot becomes at most one job even when
/// several nodes run a scheduler. The tick runs under
/// `store.asMaintenanceLeader(of: "scheduler")`: on PostgreSQL one node does the work; the unique
/// key keeps it correct without that. Paused schedules enqueue nothing, and the slots that pass
/// while paused are not run on resume.
public final class Scheduler: Service, Sendable {
    public let store: any ScheduleStore & JobInspectionStore
    public let schedules: [Schedule]
    public let clock: any SuretyClock
    /// How often the scheduler looks for due slots. Default: 1 s.
    public let tickInterval: Duration
    let logger: Logger

    /// The most slots one schedule enqueues in one tick when catching up (the next tick
    /// continues). 100.
    public static let maximumCatchUp = 100

    /// - Parameters:
    ///   - store: a store with the ``ScheduleStore`` capability (memory, SQLite, PostgreSQL), and
    ///     ``JobInspectionStore`` to find a schedule's active jobs (its overlap policy).
    ///   - schedules: names must be unique.
    ///   - tickInterval: Default: 1 s.
    ///   - clock: Default: ``SystemClock``.
    ///   - logger: Default: a logger labelled `surety.scheduler`.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for duplicate names or a non-positive interval.
    public init(
        store: any ScheduleStore & JobInspectionStore, schedules: [Schedule], tickInterval: Duration = .seconds(1),
        clock: any SuretyClock = SystemClock(), logger: Logger = Logger(label: "surety.scheduler")
    ) throws {
        var names: Set<String> = []
        for schedule in schedules where !names.insert(schedule.name).inserted {
            throw SuretyError(.invalidArgument, "two schedules are named '\(schedule.name)'; names must be unique")
        }
        guard tickInterval > .zero else { throw SuretyError(.invalidArgument, "tickInterval must be positive") }
        self.store = store
        self.schedules = schedules
        self.tickInterval = tickInterval
        self.clock = clock
        self.logger = logger
    }

    /// Saves the definitions, then ticks every ``tickInterval`` until graceful shutdown or
    /// cancellation. A failed tick is logged and retried at the next one.
    public func run() async throws {
        try await register()
        logger.info("scheduler started", metadata: ["schedules": "\(schedules.map(\.name).joined(separator: ","))"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await self.store.asMaintenanceLeader(of: "scheduler") { try await self.tick() }
                } catch {
                    self.logger.warning("scheduler tick failed; retrying at the next tick", metadata: ["error": "\(error)"])
                }
                do { try await self.clock.sleep(for: self.tickInterval) } catch { return }
            }
        }
        await store.resignMaintenanceLeadership(of: "scheduler")
        logger.info("scheduler stopped")
    }

    /// Saves the schedules' definitions in the store (keeping pause state and last slots).
    public func register() async throws {
        try await store.saveSchedules(schedules.map(\.definition), now: clock.now())
    }

    /// What one tick decided for one slot.
    public struct Decision: Sendable, Hashable {
        public enum Outcome: Sendable, Hashable {
            /// A job was enqueued for the slot.
            case enqueued(JobID)
            /// The slot's job already existed (another node enqueued it).
            case alreadyEnqueued(JobID)
            /// The overlap policy skipped the slot: this job of an earlier slot is still active.
            case skippedOverlap(JobID)
            /// The missed-run policy dropped the slot.
            case skippedMissed
            /// The schedule is paused.
            case paused
        }
        public var schedule: String
        public var slot: Date
        public var outcome: Outcome
    }

    /// One pass over every schedule at the clock's now (without leadership: tests and callers
    /// that elect their own leader use this). Returns the decisions, in order.
    @discardableResult
    public func tick() async throws -> [Decision] {
        let now = clock.now()
        let records = Dictionary(try await store.schedules().map { ($0.definition.name, $0) }, uniquingKeysWith: { first, _ in first })
        var decisions: [Decision] = []
        for schedule in schedules {
            guard let record = records[schedule.name] else {
                logger.warning("schedule is not registered in the store; call register() first", metadata: ["schedule": "\(schedule.name)"])
                continue
            }
            decisions += try await tick(schedule, record: record, now: now)
        }
        return decisions
    }

    private func tick(_ schedule: Schedule, record: ScheduleRecord, now: Date) async throws -> [Decision] {
        // A slot at the second the schedule was created counts.
        let after = record.lastSlot ?? record.createdAt.addingTimeInterval(-1)
        let slots = Self.dueSlots(schedule, after: after, now: now)
        guard let latest = slots.last else { return [] }
        if record.paused {
            try await store.recordScheduleSlot(schedule.name, slot: latest, jobID: nil)
            return slots.map { Decision(schedule: schedule.name, slot: $0, outcome: .paused) }
        }
        let lateness = schedule.lateness.timeInterval
        let onTime = slots.filter { now.timeIntervalSince($0) <= lateness }
        let candidates: [Date]
        switch schedule.missed {
        case .skip:
            candidates = onTime
        case .runLatest:
            candidates = onTime.isEmpty ? [latest] : onTime
        case .catchUp(let window):
            let horizon = max(window.timeInterval, lateness)
            candidates = slots.filter { now.timeIntervalSince($0) <= horizon }
        }
        let capped = candidates.count > Self.maximumCatchUp
        let chosen = Array(candidates.prefix(Self.maximumCatchUp))
        // When capped, the next tick continues after the last chosen slot.
        let decidedUpTo = capped ? chosen[chosen.count - 1] : latest
        var decisions = slots.filter { $0 <= decidedUpTo && !chosen.contains($0) }
            .map { Decision(schedule: schedule.name, slot: $0, outcome: .skippedMissed) }
        for slot in chosen {
            let outcome = try await decide(schedule, slot: slot, now: now)
            decisions.append(Decision(schedule: schedule.name, slot: slot, outcome: outcome))
            var jobID: JobID?
            switch outcome {
            case .enqueued(let id), .alreadyEnqueued(let id): jobID = id
            default: break
            }
            try await store.recordScheduleSlot(schedule.name, slot: slot, jobID: jobID)
        }
        try await store.recordScheduleSlot(schedule.name, slot: decidedUpTo, jobID: nil)
        for decision in decisions {
            switch decision.outcome {
            case .enqueued(let id):
                logger.info("schedule enqueued its slot", metadata: ["schedule": "\(schedule.name)", "slot": "\(Schedule.slotText(decision.slot))", "job_id": "\(id)"])
            case .skippedOverlap(let id):
                logger.notice("schedule skipped a slot: the previous run is still active", metadata: ["schedule": "\(schedule.name)", "slot": "\(Schedule.slotText(decision.slot))", "active_job_id": "\(id)"])
            case .skippedMissed:
                logger.notice("schedule dropped a missed slot", metadata: ["schedule": "\(schedule.name)", "slot": "\(Schedule.slotText(decision.slot))"])
            default:
                break
            }
        }
        return decisions
    }

    private func decide(_ schedule: Schedule, slot: Date, now: Date) async throws -> Decision.Outcome {
        let key = schedule.uniqueKey(slot: slot)
        if schedule.overlap != .allow {
            let active = try await store.jobs(JobFilter(states: JobState.active, tag: schedule.tag, limit: 50))
                .filter { $0.uniqueKey != key && $0.tenant == schedule.tenant }
            let blocking = schedule.overlap == .skip ? active : active.filter { $0.state != .running }
            if let holder = blocking.first { return .skippedOverlap(holder.id) }
        }
        let job = NewJob(
            type: schedule.jobType, queue: schedule.queue, priority: schedule.priority, tenant: schedule.tenant,
            payload: schedule.payload, runAt: slot, enqueuedAt: now, maxAttempts: schedule.maxAttempts,
            uniqueKey: key, uniqueScope: .forever, tags: [schedule.tag],
            correlation: ["schedule": schedule.name, "schedule_slot": Schedule.slotText(slot)]
        )
        let result = try await store.enqueue([job])[0]
        return result.inserted ? .enqueued(result.id) : .alreadyEnqueued(result.id)
    }

    /// The slots in (`after`, `now`], oldest first. Searches back from `now` in growing windows,
    /// so a schedule with a slot every second that was down for a year costs an hour of slots,
    /// not a year of them.
    static func dueSlots(_ schedule: Schedule, after: Date, now: Date) -> [Date] {
        guard after < now else { return [] }
        var lookback: [TimeInterval] = [3600, 86_400, 32 * 86_400, 400 * 86_400, 30 * 366 * 86_400]
        switch schedule.missed {
        case .catchUp(let window): lookback.insert(max(window.timeInterval, schedule.lateness.timeInterval), at: 0)
        default: break
        }
        for window in lookback {
            let start = max(after, now.addingTimeInterval(-window))
            var slots: [Date] = []
            var cursor = start
            while let next = schedule.cron.next(after: cursor, in: schedule.timeZone), next <= now {
                slots.append(next)
                cursor = next
                if slots.count > 100_000 { slots.removeFirst(50_000) }
            }
            if !slots.isEmpty || start == after { return slots }
        }
        return []
    }
}
