import CoreMetrics
import Foundation
import Synchronization

/// Surety's metrics, through swift-metrics. Names, types and dimensions are documented in
/// docs/telemetry.md and are a stable interface (dashboards and alerts depend on them).
///
/// Dimensions are `queue` and `type` (plus `outcome`, `error_class`, `reason`, `state` where
/// named); `tenant` is added only when ``MetricsOptions/tenantDimension`` is on, because tenant
/// counts can be large and every label value is a new time series.
public struct MetricsOptions: Sendable {
    /// The factory to create metrics with. Default: `nil`, the process-wide `MetricsSystem.factory`
    /// (bootstrap it once, for example with swift-prometheus).
    public var factory: (any MetricsFactory)?
    /// Adds a `tenant` dimension to per-job metrics. Default: `false`.
    public var tenantDimension: Bool

    public init(factory: (any MetricsFactory)? = nil, tenantDimension: Bool = false) {
        self.factory = factory
        self.tenantDimension = tenantDimension
    }
}

/// Records job metrics; created once per worker or queue client and cheap to call.
final class JobMetrics: Sendable {
    private let options: MetricsOptions
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    init(options: MetricsOptions) { self.options = options }

    private var factory: any MetricsFactory { options.factory ?? MetricsSystem.factory }

    /// A metric's label and dimension values: hashed as they are, so a cached handle is found
    /// without building its dimension list or a string key (this runs several times per job).
    private struct Key: Hashable {
        var label: String
        var queue: String
        var type: String
        var tenant: String?
        var extra: [String]
    }

    private func key(_ label: String, queue: String, type: String, tenant: TenantID?, extra: [(String, String)]) -> Key {
        Key(
            label: label, queue: queue, type: type, tenant: options.tenantDimension ? tenant?.rawValue : nil,
            extra: extra.isEmpty ? [] : extra.flatMap { [$0.0, $0.1] }
        )
    }

    private func dimensions(queue: String, type: String, tenant: TenantID?, extra: [(String, String)]) -> [(String, String)] {
        var dimensions = [("queue", queue), ("type", type)]
        if options.tenantDimension, let tenant { dimensions.append(("tenant", tenant.rawValue)) }
        return dimensions + extra
    }

    func count(_ label: String, queue: String, type: String, tenant: TenantID?, extra: [(String, String)] = [], by amount: Int = 1) {
        let key = key(label, queue: queue, type: type, tenant: tenant, extra: extra)
        let counter = counters.withLock { cache -> Counter in
            if let existing = cache[key] { return existing }
            let created = Counter(label: label, dimensions: dimensions(queue: queue, type: type, tenant: tenant, extra: extra), factory: factory)
            cache[key] = created
            return created
        }
        counter.increment(by: amount)
    }

    func time(_ label: String, seconds: TimeInterval, queue: String, type: String, tenant: TenantID?, extra: [(String, String)] = []) {
        let key = key(label, queue: queue, type: type, tenant: tenant, extra: extra)
        let timer = timers.withLock { cache -> CoreMetrics.Timer in
            if let existing = cache[key] { return existing }
            let created = CoreMetrics.Timer(
                label: label, dimensions: dimensions(queue: queue, type: type, tenant: tenant, extra: extra),
                preferredDisplayUnit: .seconds, factory: factory
            )
            cache[key] = created
            return created
        }
        timer.recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    // MARK: Events

    func enqueued(_ jobs: [NewJob], results: [EnqueuedJob]) {
        for (job, result) in zip(jobs, results) where result.inserted {
            count("surety_jobs_enqueued_total", queue: job.queue, type: job.type, tenant: job.tenant)
        }
    }

    func attemptStarted(_ job: ClaimedJob, at now: Date) {
        count("surety_attempts_started_total", queue: job.queue, type: job.type, tenant: job.tenant)
        time("surety_queue_latency_seconds", seconds: now.timeIntervalSince(job.runAt), queue: job.queue, type: job.type, tenant: job.tenant)
    }

    func attemptFinished(_ job: ClaimedJob, finish: AttemptFinish, fence: FenceResult?) {
        let q = job.queue, t = job.type, tenant = job.tenant
        time("surety_attempt_duration_seconds", seconds: finish.endedAt.timeIntervalSince(finish.startedAt), queue: q, type: t, tenant: tenant, extra: [("outcome", finish.outcome.rawValue)])
        guard fence == .applied else {
            if fence == .leaseLost { count("surety_outcomes_refused_total", queue: q, type: t, tenant: tenant) }
            return
        }
        recordTransition(job, finish: finish)
        if case .completed = finish.next {
            time("surety_time_to_success_seconds", seconds: finish.endedAt.timeIntervalSince(job.enqueuedAt), queue: q, type: t, tenant: tenant)
        }
    }

    func rescued(_ job: ClaimedJob, finish: AttemptFinish) {
        count("surety_jobs_rescued_total", queue: job.queue, type: job.type, tenant: job.tenant)
        recordTransition(job, finish: finish)
    }

    private func recordTransition(_ job: ClaimedJob, finish: AttemptFinish) {
        let q = job.queue, t = job.type, tenant = job.tenant
        if let error = finish.error, finish.outcome != .snoozed, finish.outcome != .interrupted {
            count("surety_attempts_failed_total", queue: q, type: t, tenant: tenant, extra: [("error_class", error.errorClass.rawValue), ("outcome", finish.outcome.rawValue)])
        }
        switch finish.next {
        case .completed: count("surety_jobs_completed_total", queue: q, type: t, tenant: tenant)
        case .retry: count("surety_jobs_retried_total", queue: q, type: t, tenant: tenant)
        case .reschedule:
            if finish.outcome == .snoozed { count("surety_jobs_snoozed_total", queue: q, type: t, tenant: tenant) }
        case .dead(let reason): count("surety_jobs_dead_total", queue: q, type: t, tenant: tenant, extra: [("reason", reason.rawValue)])
        case .cancelled: count("surety_jobs_cancelled_total", queue: q, type: t, tenant: tenant)
        }
    }
}
