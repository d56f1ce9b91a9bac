import Foundation
import Logging
import ServiceLifecycle

/// A Service that prunes finished jobs and old audit rows by a ``RetentionPolicy``: every
/// `policy.interval`, one pass, in batches of `policy.batchSize` rows (one short transaction each,
/// so claims are never blocked for long). On many nodes, one node at a time runs the pass
/// (`store.asMaintenanceLeader(of: "retention")`).
///
/// ```swift
/// let retention = RetentionService(store: store, policy: RetentionPolicy(completed: .seconds(3600)))
/// let group = ServiceGroup(services: [worker, retention], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
///
/// The store must implement ``RetentionStore`` (the memory, SQLite and PostgreSQL stores do).
public struct RetentionService: Service {
    public let store: any JobStore
    public let policy: RetentionPolicy
    public let clock: any SuretyClock
    let logger: Logger
    let onPass: (@Sendable (RetentionReport) -> Void)?

    /// - Parameters:
    ///   - store: the store whose finished jobs are pruned.
    ///   - policy: Default: ``RetentionPolicy/init(completed:cancelled:dead:audit:batchSize:interval:)`` defaults.
    ///   - clock: Default: ``SystemClock``.
    ///   - logger: Default: a logger labelled `surety.retention`.
    ///   - onPass: called after every pass this node ran (tests await it). Default: none.
    public init(
        store: any JobStore, policy: RetentionPolicy = RetentionPolicy(), clock: any SuretyClock = SystemClock(),
        logger: Logger = Logger(label: "surety.retention"), onPass: (@Sendable (RetentionReport) -> Void)? = nil
    ) {
        self.store = store
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.onPass = onPass
    }

    /// Runs a pass at once, then one every `policy.interval`, until graceful shutdown or
    /// cancellation. A failed pass is logged and retried at the next interval.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for an invalid policy or a store without
    ///   ``RetentionStore``.
    public func run() async throws {
        try policy.validate()
        _ = try retentionStore()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await pruneOnce()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("retention pass failed; retrying at the next interval", metadata: ["error": "\(error)"])
                }
                try await clock.sleep(for: policy.interval)
            }
        }
        // Another node takes retention over at its next pass.
        await store.resignMaintenanceLeadership(of: "retention")
    }

    /// One pass: deletes what the policy says is past its age, batch by batch. Returns `nil`
    /// when another node leads retention.
    @discardableResult
    public func pruneOnce() async throws -> RetentionReport? {
        try policy.validate()
        let target = try retentionStore()
        let policy = policy
        let now = clock.now()
        let report = try await store.asMaintenanceLeader(of: "retention") { () async throws -> RetentionReport in
            var report = RetentionReport(dryRun: false, now: now)
            for (state, age) in policy.jobAges {
                let cutoff = now.adding(.zero - age)
                while true {
                    try Task.checkCancellation()
                    let deleted = try await target.pruneJobs(in: state, finishedBefore: cutoff, limit: policy.batchSize)
                    report.add(deleted, for: state)
                    if deleted < policy.batchSize { break }
                    await Task.yield()
                }
            }
            if let age = policy.audit {
                let cutoff = now.adding(.zero - age)
                while true {
                    try Task.checkCancellation()
                    let deleted = try await target.pruneAudit(before: cutoff, limit: policy.batchSize)
                    report.audit += deleted
                    if deleted < policy.batchSize { break }
                    await Task.yield()
                }
            }
            return report
        }
        guard let report else {
            logger.debug("retention pass skipped: another node leads retention")
            return nil
        }
        if report.jobs > 0 || report.audit > 0 {
            logger.info("retention pass pruned jobs", metadata: [
                "completed": "\(report.completed)", "cancelled": "\(report.cancelled)", "dead": "\(report.dead)",
                "audit": "\(report.audit)",
            ])
        }
        onPass?(report)
        return report
    }

    /// What a pass would delete now, without deleting anything.
    public func preview() async throws -> RetentionReport {
        try policy.validate()
        let target = try retentionStore()
        let now = clock.now()
        var report = RetentionReport(dryRun: true, now: now)
        for (state, age) in policy.jobAges {
            report.add(try await target.countPrunableJobs(in: state, finishedBefore: now.adding(.zero - age)), for: state)
        }
        if let age = policy.audit {
            report.audit = try await target.countPrunableAudit(before: now.adding(.zero - age))
        }
        return report
    }

    private func retentionStore() throws -> any RetentionStore {
        guard let target = store as? any RetentionStore else {
            throw SuretyError(.invalidArgument, "the store \(type(of: store)) does not support retention (RetentionStore)")
        }
        return target
    }
}
