import Foundation
import Logging

/// Finds jobs whose lease expired (their worker crashed, hung or lost the store) and records the
/// attempt as `lost`; the retry policy then decides: retry with backoff, or the dead-letter inbox
/// when attempts or budget are spent. Each worker runs it every
/// ``WorkerConfiguration/rescueInterval``; the transition is conditional on the lease having
/// expired, so a worker that heartbeats in time keeps its job.
public enum LeaseRescuer {
    /// Rescues up to `limit` expired leases now. Returns how many were rescued.
    @discardableResult
    public static func rescueOnce(
        store: any JobStore, registry: JobRegistry, clock: any SuretyClock, logger: Logger,
        limit: Int = 100, metrics: MetricsOptions = MetricsOptions(), onEvent: (@Sendable (WorkerEvent) -> Void)? = nil
    ) async throws -> Int {
        try await rescueOnce(store: store, registry: registry, clock: clock, logger: logger, limit: limit, metrics: JobMetrics(options: metrics), onEvent: onEvent)
    }

    static func rescueOnce(
        store: any JobStore, registry: JobRegistry, clock: any SuretyClock, logger: Logger,
        limit: Int, metrics: JobMetrics, onEvent: (@Sendable (WorkerEvent) -> Void)?
    ) async throws -> Int {
        let now = clock.now()
        let expired = try await store.expiredLeases(now: now, limit: limit)
        guard !expired.isEmpty else { return 0 }
        let finishes = expired.map { lost -> AttemptFinish in
            let job = lost.job
            let next = RetryDecision.next(
                after: .failed(.transient, undecodablePayload: false), attempt: job.attempt, maxAttempts: job.maxAttempts,
                firstAttemptAt: job.firstAttemptAt, now: now, options: registry.options(for: job.type),
                unitRandom: Double.random(in: 0..<1)
            )
            let error = AttemptError(
                type: "LeaseExpired",
                message: "worker \(lost.worker) stopped heartbeating; lease expired at \(job.leaseUntil.formatted(.iso8601))",
                errorClass: .transient
            )
            return AttemptFinish(
                lease: job.lease, attempt: job.attempt, worker: lost.worker, startedAt: lost.startedAt, endedAt: now,
                outcome: .lost, error: error, next: next, onlyIfLeaseExpiredBy: now
            )
        }
        let results = try await store.finish(finishes)
        var rescued = 0
        for ((lost, finish), result) in zip(zip(expired, finishes), results) where result == .applied {
            rescued += 1
            metrics.rescued(lost.job, finish: finish)
            logger.warning("rescued job from a vanished worker", metadata: [
                "job_id": "\(finish.lease.jobID)", "job_type": "\(lost.job.type)", "queue": "\(lost.job.queue)",
                "tenant": "\(lost.job.tenant)", "lost_worker": "\(finish.worker)", "attempt": "\(finish.attempt)",
                "next": "\(finish.next.logDescription)",
            ])
            onEvent?(.rescued(finish.lease.jobID, attempt: finish.attempt, next: finish.next))
        }
        return rescued
    }
}
