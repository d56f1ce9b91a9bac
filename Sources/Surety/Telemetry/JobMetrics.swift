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
    private let series = Mutex<[SeriesKey: Series]>([:])

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

    /// The handles of the metrics every successful attempt records, for one queue and type (and
    /// tenant, with ``MetricsOptions/tenantDimension``): one lookup per attempt event instead of
    /// one per metric. In a no-op drain the per-metric lookups (a key of label, queue, type and
    /// dimensions, hashed and looked up under a lock, five times a job) were a visible share of
    /// the worker's own time per job. Every other metric takes ``count(_:queue:type:tenant:extra:by:)``
    /// and ``time(_:seconds:queue:type:tenant:extra:)``; no metric is created on both paths.
    private final class Series: Sendable {
        let attemptsStarted: Counter
        let queueLatency: CoreMetrics.Timer
        let succeededDuration: CoreMetrics.Timer
        let completed: Counter
        let timeToSuccess: CoreMetrics.Timer

        init(dimensions: [(String, String)], factory: any MetricsFactory) {
            attemptsStarted = Counter(label: "surety_attempts_started_total", dimensions: dimensions, factory: factory)
            queueLatency = CoreMetrics.Timer(label: "surety_queue_latency_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            succeededDuration = CoreMetrics.Timer(
                label: "surety_attempt_duration_seconds", dimensions: dimensions + [("outcome", AttemptOutcome.succeeded.rawValue)],
                preferredDisplayUnit: .seconds, factory: factory
            )
            completed = Counter(label: "surety_jobs_completed_total", dimensions: dimensions, factory: factory)
            timeToSuccess = CoreMetrics.Timer(label: "surety_time_to_success_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
        }
    }

    private struct SeriesKey: Hashable {
        var queue: String
        var type: String
        var tenant: String?
    }

    private func series(_ job: ClaimedJob) -> Series {
        let key = SeriesKey(queue: job.queue, type: job.type, tenant: options.tenantDimension ? job.tenant.rawValue : nil)
        return series.withLock { cache -> Series in
            if let existing = cache[key] { return existing }
            let created = Series(dimensions: dimensions(queue: job.queue, type: job.type, tenant: job.tenant, extra: []), factory: factory)
            cache[key] = created
            return created
        }
    }

    private static func nanoseconds(_ seconds: TimeInterval) -> Int64 { Int64(max(0, seconds) * 1e9) }

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
        timer.recordNanoseconds(Self.nanoseconds(seconds))
    }

    // MARK: Events

    func enqueued(_ jobs: [NewJob], results: [EnqueuedJob]) {
        for (job, result) in zip(jobs, results) where result.inserted {
            count("surety_jobs_enqueued_total", queue: job.queue, type: job.type, tenant: job.tenant)
        }
    }

    func attemptStarted(_ job: ClaimedJob, at now: Date) {
        let series = series(job)
        series.attemptsStarted.increment()
        series.queueLatency.recordNanoseconds(Self.nanoseconds(now.timeIntervalSince(job.runAt)))
    }

    func attemptFinished(_ job: ClaimedJob, finish: AttemptFinish, fence: FenceResult?) {
        let q = job.queue, t = job.type, tenant = job.tenant
        let series = series(job)
        let duration = finish.endedAt.timeIntervalSince(finish.startedAt)
        if finish.outcome == .succeeded {
            series.succeededDuration.recordNanoseconds(Self.nanoseconds(duration))
        } else {
            time("surety_attempt_duration_seconds", seconds: duration, queue: q, type: t, tenant: tenant, extra: [("outcome", finish.outcome.rawValue)])
        }
        guard fence == .applied else {
            if fence == .leaseLost { count("surety_outcomes_refused_total", queue: q, type: t, tenant: tenant) }
            return
        }
        recordTransition(job, finish: finish, series: series)
        if case .completed = finish.next {
            series.timeToSuccess.recordNanoseconds(Self.nanoseconds(finish.endedAt.timeIntervalSince(job.enqueuedAt)))
        }
    }

    func rescued(_ job: ClaimedJob, finish: AttemptFinish) {
        count("surety_jobs_rescued_total", queue: job.queue, type: job.type, tenant: job.tenant)
        recordTransition(job, finish: finish, series: series(job))
    }

    private func recordTransition(_ job: ClaimedJob, finish: AttemptFinish, series: Series) {
        let q = job.queue, t = job.type, tenant = job.tenant
        if let error = finish.error, finish.outcome != .snoozed, finish.outcome != .interrupted {
            count("surety_attempts_failed_total", queue: q, type: t, tenant: tenant, extra: [("error_class", error.errorClass.rawValue), ("outcome", finish.outcome.rawValue)])
        }
        switch finish.next {
        case .completed: series.completed.increment()
        case .retry: count("surety_jobs_retried_total", queue: q, type: t, tenant: tenant)
        case .reschedule:
            if finish.outcome == .snoozed { count("surety_jobs_snoozed_total", queue: q, type: t, tenant: tenant) }
        case .dead(let reason): count("surety_jobs_dead_total", queue: q, type: t, tenant: tenant, extra: [("reason", reason.rawValue)])
        case .cancelled: count("surety_jobs_cancelled_total", queue: q, type: t, tenant: tenant)
        }
    }
}
