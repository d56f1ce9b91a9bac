import Foundation
import Surety
import SuretyAlerts
import SuretyViews

/// Reads what the pages and the API show, always through the store's public contract, and
/// always narrowed to what the principal may see.
struct DashboardData: Sendable {
    let store: any JobInspectionStore & OperatorActionStore
    let registry: JobRegistry
    let configuration: DashboardConfiguration

    // MARK: Overview

    struct QueueOverview: Sendable {
        var queue: String
        var depth: [JobState: Int] = [:]
        var completedLastHour = 0
        var deadLastHour = 0
        var failedAttemptsLastHour = 0
        var pickup = LatencySummary(count: 0)
        var runtime = LatencySummary(count: 0)
        var hour: TimeSeries
        var day: TimeSeries

        var deadLetterSize: Int { depth[.dead] ?? 0 }
        var throughputPerMinute: Double { Double(completedLastHour) / 60 }
        /// Dead over finished (completed + dead) in the last hour.
        var failureRate: Double? {
            let finished = completedLastHour + deadLastHour
            return finished == 0 ? nil : Double(deadLastHour) / Double(finished)
        }
    }

    struct Overview: Sendable {
        var generatedAt: Date
        var queues: [QueueOverview]
        var all: QueueOverview
        /// Whether the figures come from the store's aggregation (``JobStatisticsStore``), exact;
        /// otherwise from a sample of recent jobs (a custom store without the capability).
        var aggregated: Bool
        /// Jobs read for the rates (at most the sample limit); 0 when aggregated.
        var sampled: Int
        var sampleLimit: Int
        var sampleTruncated: Bool { !aggregated && sampled >= sampleLimit }
    }

    /// The overview: from the store's aggregation when it has one (every bundled store does),
    /// else from a bounded sample of recent jobs.
    func overview(for principal: Principal, now: Date) async throws -> Overview {
        guard let statistics = store as? any JobStatisticsStore else { return try await sampledOverview(for: principal, now: now) }
        let result = try await statistics.jobStatistics(JobStatisticsRequest(now: now, tenant: principal.tenant))
        var all = Self.overview(result.all)
        all.queue = "all queues"
        return Overview(generatedAt: now, queues: result.queues.map(Self.overview), all: all, aggregated: true, sampled: 0,
                        sampleLimit: configuration.sampleLimit)
    }

    static func overview(_ statistics: QueueStatistics) -> QueueOverview {
        func summary(_ value: LatencyPercentiles) -> LatencySummary {
            LatencySummary(count: value.count, p50: value.p50, p95: value.p95, p99: value.p99, max: value.max)
        }
        func series(_ index: Int) -> TimeSeries {
            let shape = statistics.series[index]
            return TimeSeries(start: shape.start, bucket: Double(shape.bucketSeconds), completed: shape.completed, failed: shape.dead)
        }
        return QueueOverview(queue: statistics.queue, depth: statistics.counts, completedLastHour: statistics.completedInWindow,
                             deadLastHour: statistics.deadInWindow, failedAttemptsLastHour: statistics.failedAttemptsInWindow,
                             pickup: summary(statistics.pickup), runtime: summary(statistics.run), hour: series(0), day: series(1))
    }

    /// The overview from the most recent jobs (at most ``DashboardConfiguration/sampleLimit``),
    /// for stores without ``JobStatisticsStore``.
    func sampledOverview(for principal: Principal, now: Date) async throws -> Overview {
        var byQueue: [String: QueueOverview] = [:]
        func entry(_ queue: String) -> QueueOverview {
            byQueue[queue] ?? QueueOverview(queue: queue, hour: TimeSeries(end: now, span: 3600, buckets: 12),
                                            day: TimeSeries(end: now, span: 86400, buckets: 24))
        }
        var all = entry("all queues")
        // Depth: exact counts from the store when the principal sees every tenant.
        if principal.tenant == nil {
            for count in try await store.counts() {
                var queue = entry(count.queue)
                queue.depth[count.state, default: 0] += count.count
                byQueue[count.queue] = queue
                all.depth[count.state, default: 0] += count.count
            }
        }
        // Rates, percentiles and charts: the most recent jobs enqueued in the last day.
        var filter = JobFilter(enqueuedAfter: now.addingTimeInterval(-86400), limit: configuration.sampleLimit)
        if let tenant = principal.tenant { filter.tenants = [tenant] }
        let sample = try await store.jobs(filter)
        if let tenant = principal.tenant {
            // A tenant's depth comes from its jobs (active ones of any age, finished ones of the day).
            var active = JobFilter(states: JobState.active + [.dead], tenants: [tenant], limit: configuration.sampleLimit)
            active.enqueuedBefore = now.addingTimeInterval(-86400)
            let older = try await store.jobs(active)
            for job in sample + older {
                var queue = entry(job.queue)
                queue.depth[job.state, default: 0] += 1
                byQueue[job.queue] = queue
                all.depth[job.state, default: 0] += 1
            }
        }
        let hourAgo = now.addingTimeInterval(-3600)
        var pickups: [String: [Double]] = [:], runtimes: [String: [Double]] = [:]
        for job in sample {
            var queue = entry(job.queue)
            if let finished = job.finishedAt {
                switch job.state {
                case .completed:
                    queue.hour.add(completedAt: finished); queue.day.add(completedAt: finished)
                    all.hour.add(completedAt: finished); all.day.add(completedAt: finished)
                    if finished >= hourAgo { queue.completedLastHour += 1; all.completedLastHour += 1 }
                case .dead:
                    queue.hour.add(failedAt: finished); queue.day.add(failedAt: finished)
                    all.hour.add(failedAt: finished); all.day.add(failedAt: finished)
                    if finished >= hourAgo { queue.deadLastHour += 1; all.deadLastHour += 1 }
                default: break
                }
                if finished >= hourAgo, let started = job.attemptedAt {
                    if started >= job.runAt { pickups[job.queue, default: []].append(started.timeIntervalSince(job.runAt)) }
                    if job.state == .completed { runtimes[job.queue, default: []].append(finished.timeIntervalSince(started)) }
                }
            } else if job.state == .running, let started = job.attemptedAt, started >= hourAgo, started >= job.runAt {
                pickups[job.queue, default: []].append(started.timeIntervalSince(job.runAt))
            }
            if job.attempt > 1, let attempted = job.attemptedAt, attempted >= hourAgo {
                let failedBefore = job.attempt - 1
                queue.failedAttemptsLastHour += failedBefore
                all.failedAttemptsLastHour += failedBefore
            }
            byQueue[job.queue] = queue
        }
        for (name, values) in pickups { byQueue[name]?.pickup = Statistics.summary(values) }
        for (name, values) in runtimes { byQueue[name]?.runtime = Statistics.summary(values) }
        all.pickup = Statistics.summary(pickups.values.flatMap { $0 })
        all.runtime = Statistics.summary(runtimes.values.flatMap { $0 })
        return Overview(generatedAt: now, queues: byQueue.values.sorted { $0.queue < $1.queue }, all: all, aggregated: false,
                        sampled: sample.count, sampleLimit: configuration.sampleLimit)
    }

    // MARK: Jobs

    func jobs(_ query: JobQuery, for principal: Principal, now: Date) async throws -> [JobRecord] {
        try await store.jobs(query.filter(for: principal, now: now))
    }

    struct Detail: Sendable {
        var job: JobRecord
        var attempts: [AttemptRecord]
        var audit: [AuditRecord]
    }

    /// The job with its attempts and audit trail, or `nil` when it does not exist or belongs to
    /// a tenant the principal may not see (the two are indistinguishable on purpose).
    func detail(_ id: JobID, for principal: Principal) async throws -> Detail? {
        guard let job = try await store.job(id), principal.maySee(job.tenant) else { return nil }
        async let attempts = store.attempts(of: id)
        async let audit = store.audit(of: id)
        return Detail(job: job, attempts: try await attempts, audit: try await audit)
    }

    /// Scheduled jobs (state `scheduled`), soonest first.
    func scheduled(for principal: Principal, limit: Int) async throws -> [JobRecord] {
        var filter = JobFilter(states: [.scheduled], limit: limit)
        if let tenant = principal.tenant { filter.tenants = [tenant] }
        return try await store.jobs(filter).sorted { ($0.runAt, $0.id) < ($1.runAt, $1.id) }
    }

    // MARK: Alerts

    /// The stored alerts, firing first (`surety alerts list --all` reads the same), or `nil`
    /// when the store keeps no alert state. Alerts are about job types and queues across every
    /// tenant, so a tenant credential may not read them.
    func alerts(for principal: Principal) async throws -> [StoredAlert]? {
        guard principal.tenant == nil else {
            throw DashboardError(.forbidden, "alerts cover every tenant; a tenant credential may not read them")
        }
        guard let states = store as? any AlertStateStore else { return nil }
        return try await states.storedAlerts(includeResolved: true)
    }

    // MARK: Schedules

    /// The recurring schedules the principal may see (a tenant credential: those whose jobs
    /// belong to its tenant), by name, or `nil` when the store keeps no schedules.
    func schedules(for principal: Principal) async throws -> [ScheduleRecord]? {
        guard let schedules = store as? any ScheduleStore else { return nil }
        return try await schedules.schedules().filter { principal.maySee($0.definition.tenant) }
    }

    /// Pauses or resumes the schedule `name`, recording who and why. A schedule the principal
    /// may not see is "not found", exactly like one that does not exist.
    func setSchedulePaused(_ name: String, paused: Bool, reason: String, principal: Principal, now: Date) async throws -> ScheduleRecord {
        guard principal.mayAct else { throw DashboardError(.forbidden, "this dashboard is read-only") }
        let action: OperatorAction
        do { action = try OperatorAction(actor: principal.actor, reason: reason, at: now) } catch {
            throw DashboardError(.badRequest, "a reason is required to \(paused ? "pause" : "resume") a schedule")
        }
        guard let store = store as? any ScheduleStore,
              let existing = try await store.schedules().first(where: { $0.definition.name == name }),
              principal.maySee(existing.definition.tenant),
              let record = try await store.setSchedulePaused(name, paused: paused, action: action)
        else { throw DashboardError(.notFound, "no schedule named '\(name)'") }
        return record
    }

    // MARK: Dead-letter inbox

    struct DeadGroup: Sendable {
        var key: String
        var type: String
        var errorType: String
        var errorMessage: String
        var deadReason: String
        var jobs: [JobRecord]
        var latest: Date?
    }

    /// Dead jobs grouped by type and error (error type, first line of the message), largest
    /// group first.
    func deadLetter(_ query: JobQuery, for principal: Principal, now: Date) async throws -> (groups: [DeadGroup], truncated: Bool) {
        var query = query
        query.states = [.dead]
        query.before = nil
        var filter = try query.filter(for: principal, now: now)
        filter.limit = configuration.deadLetterLimit
        let dead = try await store.jobs(filter)
        var groups: [String: DeadGroup] = [:]
        for job in dead {
            let errorType = job.lastError?.type ?? "-"
            let message = job.lastError.map { scrubbed($0.message, of: job) } ?? ""
            let firstLine = String(message.split(separator: "\n", omittingEmptySubsequences: false).first ?? "").prefix(200)
            let reason = job.deadReason?.rawValue ?? "-"
            let key = [job.type, errorType, String(firstLine), reason].joined(separator: "\u{1F}")
            var group = groups[key] ?? DeadGroup(key: key, type: job.type, errorType: errorType, errorMessage: String(firstLine),
                                                 deadReason: reason, jobs: [], latest: nil)
            group.jobs.append(job)
            if let finished = job.finishedAt, group.latest.map({ finished > $0 }) ?? true { group.latest = finished }
            groups[key] = group
        }
        let sorted = groups.values.sorted { ($0.jobs.count, $0.latest ?? .distantPast) > ($1.jobs.count, $1.latest ?? .distantPast) }
        return (sorted, dead.count >= configuration.deadLetterLimit)
    }

    /// Recent operator actions: the audit trails of recently touched jobs (jobs that carry an
    /// operator note), newest first.
    func recentAudit(for principal: Principal, now: Date, limit: Int = 20) async throws -> [(JobRecord, AuditRecord)] {
        var filter = JobFilter(enqueuedAfter: now.addingTimeInterval(-7 * 86400), limit: configuration.sampleLimit)
        if let tenant = principal.tenant { filter.tenants = [tenant] }
        let touched = try await store.jobs(filter).filter { $0.note != nil }.prefix(200)
        var rows: [(JobRecord, AuditRecord)] = []
        for job in touched {
            for record in try await store.audit(of: job.id) { rows.append((job, record)) }
        }
        return Array(rows.sorted { $0.1.at > $1.1.at }.prefix(limit))
    }

    // MARK: Actions

    enum Action: String, Sendable {
        case requeue
        case discard
    }

    /// Requeues or discards the jobs the principal may see; the others are reported as skipped
    /// ("not found"), exactly like ids that do not exist. Like `surety dlq requeue`, a dead job
    /// whose dead reason is `undecodable_payload` is requeued only with `force` (its payload will
    /// not decode next time either); without it the job is skipped with ``undecodableSkipReason``.
    func perform(_ action: Action, ids: [JobID], reason: String, principal: Principal, now: Date, dryRun: Bool = false,
                 force: Bool = false) async throws -> BulkResult {
        guard principal.mayAct else { throw DashboardError(.forbidden, "this dashboard is read-only") }
        let operatorAction: OperatorAction
        do { operatorAction = try OperatorAction(actor: principal.actor, reason: reason, at: now) } catch {
            throw DashboardError(.badRequest, "a reason is required for \(action.rawValue)")
        }
        guard !ids.isEmpty else { throw DashboardError(.badRequest, "no jobs selected") }
        guard ids.count <= 10_000 else { throw DashboardError(.badRequest, "at most 10,000 jobs per action") }
        var visible: [JobID] = []
        var skipped: [BulkResult.Skipped] = []
        let allowed: [JobState] = action == .requeue ? [.dead, .cancelled] : [.dead]
        for id in Array(Set(ids)).sorted() {
            guard let job = try await store.job(id), principal.maySee(job.tenant) else {
                skipped.append(.init(id: id, reason: "not found"))
                continue
            }
            if action == .requeue, job.state == .dead, job.deadReason == .undecodablePayload, !force {
                skipped.append(.init(id: id, reason: Self.undecodableSkipReason))
                continue
            }
            if dryRun, !allowed.contains(job.state) {
                skipped.append(.init(id: id, reason: "state is \(job.state.rawValue)"))
                continue
            }
            visible.append(id)
        }
        if dryRun { return BulkResult(changed: visible, skipped: skipped) }
        var result = visible.isEmpty ? BulkResult() : try await {
            switch action {
            case .requeue: try await store.requeue(visible, action: operatorAction)
            case .discard: try await store.discard(visible, action: operatorAction)
            }
        }()
        result.skipped += skipped
        return result
    }

    /// Why a requeue without force skipped an `undecodable_payload` job.
    static let undecodableSkipReason = "dead reason is undecodable_payload: its payload will not decode next time either; fix the job type, or requeue with force"

    // MARK: Redaction

    /// The one redaction of the operator views (SuretyViews), the same as `surety … --json`'s.
    var redaction: ViewRedaction { ViewRedaction(registry: registry) }

    /// The payload with the type's secret fields masked (wholly masked for unknown types).
    func redactedPayload(_ job: JobRecord) -> String { registry.redactedPayload(job.payload, type: job.type) }

    /// The unique key scrubbed of the payload's secret values, or wholly masked for a type this
    /// build does not know (``ViewRedaction/key(_:of:)``). `nil` when the job has no key.
    func redactedUniqueKey(_ job: JobRecord) -> String? { job.uniqueKey.map { redaction.key($0, of: job) } }

    /// An error message scrubbed of the payload's secret values (``ViewRedaction/text(_:of:)``).
    func scrubbed(_ message: String, of job: JobRecord) -> String { redaction.text(message, of: job) }
}
