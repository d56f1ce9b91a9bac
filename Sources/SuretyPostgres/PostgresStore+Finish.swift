import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    /// Records the ends of attempts in one transaction: the core's transition of each
    /// (`JobLifecycle.transition(for:)` of `.finish`) bound to one `UPDATE ... FROM
    /// unnest(...) RETURNING id` for the whole batch (`JobTransitionSQL`), each finish fenced on `state = 'running'` and its lease
    /// token (and for the rescuer on `lease_until <= onlyIfLeaseExpiredBy`), then one INSERT of
    /// the history rows of the applied finishes that were not successes.
    ///
    /// A batch that names the same job twice is applied one finish at a time, in order, so the
    /// second sees the first (its token spent) exactly as separate calls would.
    public func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
        guard !finishes.isEmpty else { return [] }
        let transitions = finishes.map { JobLifecycle.transition(for: .finish($0)) }
        if let results = try await finishPlainCompletions(finishes, transitions) { return results }
        let notifyAlways = notifyQuery
        let (applied, released): ([Bool], Bool) = try await transaction("finish") { [self] connection in
            try await Self.applyFinishes(finishes, connection, notify: notifyAlways, leaseTimes: leaseTimes, logger: logger)
        }
        if released || finishes.indices.contains(where: { applied[$0] && transitions[$0].isDue }) { signal() }
        return applied.map { $0 ? .applied : .leaseLost }
    }

    /// A batch of distinct plain successes in one prepared statement (``FinishCompletions``);
    /// `nil` when the batch needs the general path (another kind of finish, a job twice, or a
    /// job that is an active workflow step, in which case nothing was written).
    func finishPlainCompletions(_ finishes: [AttemptFinish], _ transitions: [JobTransition]) async throws -> [FenceResult]? {
        guard transitions.allSatisfy(\.isPlainCompletion) else { return nil }
        var seen: Set<Int64> = []
        seen.reserveCapacity(finishes.count)
        guard finishes.allSatisfy({ seen.insert($0.lease.jobID.rawValue).inserted }) else { return nil }
        let ids = try await execute("finish", FinishCompletions(
            ids: finishes.map(\.lease.jobID.rawValue), tokens: transitions.map { $0.requirement.leaseToken ?? Timestamp.none },
            finishedAt: transitions.map { Timestamp.micros($0.finishedAt.value) }
        ))
        if ids.contains(FinishCompletions.blockedMarker) { return nil }
        // One statement, no transaction: the nearest point is after its commit, before the
        // worker learns of it.
        CrashPoints.reach(.outcomeBatch)
        let applied = Set(ids)
        return finishes.map { applied.contains($0.lease.jobID.rawValue) ? .applied : .leaseLost }
    }

    /// Every write of a batch of finishes, inside the caller's transaction (the store's own in
    /// ``finish(_:)``, the application's in ``complete(_:on:)``): returns which finishes applied
    /// and whether a workflow step was released.
    static func applyFinishes(_ finishes: [AttemptFinish], _ connection: PostgresConnection, notify: PostgresQuery, leaseTimes: LeaseTimes, logger: Logger) async throws -> ([Bool], Bool) {
        let transitions = finishes.map { JobLifecycle.transition(for: .finish($0)) }
        var seen: Set<Int64> = []
        let distinct = finishes.allSatisfy { seen.insert($0.lease.jobID.rawValue).inserted }
        var applied: [Bool]
        if distinct {
            let ids = try await update(Array(finishes.indices), finishes, transitions, connection, leaseTimes: leaseTimes, logger: logger)
            applied = finishes.map { ids.contains($0.lease.jobID.rawValue) }
        } else {
            applied = []
            for index in finishes.indices {
                let ids = try await update([index], finishes, transitions, connection, leaseTimes: leaseTimes, logger: logger)
                applied.append(!ids.isEmpty)
            }
        }
        try await applyCancelRequests(finishes, applied: applied, connection, logger: logger)
        CrashPoints.reach(.outcomeBatch)
        let released = try await advanceWorkflows(
            finishes.indices.filter { applied[$0] }.map { finishes[$0].lease.jobID },
            at: finishes[0].endedAt, connection, notify: notify, logger: logger
        )
        let history = finishes.indices.filter { applied[$0] && transitions[$0].writesHistory }
        if !history.isEmpty { try await appendHistory(history.map { finishes[$0] }, connection, logger: logger) }
        if finishes.indices.contains(where: { applied[$0] && transitions[$0].isDue }) {
            try await connection.queryIfOpen(notify, logger: logger)
        }
        return (applied, released)
    }

    /// Applies the finishes at `indices` in one statement (``JobTransitionSQL/finish(onDatabaseClock:)``);
    /// returns the ids it changed. A rescuer's condition (`onlyIfLeaseExpiredBy`) is judged by
    /// ``LeaseTimes``: on the database clock the lease must have expired by the server's time,
    /// whatever the rescuer's clock said.
    static func update(_ indices: [Int], _ finishes: [AttemptFinish], _ transitions: [JobTransition], _ connection: PostgresConnection, leaseTimes: LeaseTimes, logger: Logger) async throws -> Set<Int64> {
        let query = PostgresQuery(
            unsafeSQL: JobTransitionSQL.finish(onDatabaseClock: leaseTimes.clock == .database),
            binds: JobTransitionSQL.finishBindings(indices.map { finishes[$0].lease.jobID }, indices.map { transitions[$0] })
        )
        let ids = try await connection.queryIfOpen(query, logger: logger).collect { try $0[0].decode(Int64.self) }
        return Set(ids)
    }

    /// One INSERT of history rows, in batch order.
    static func appendHistory(_ finishes: [AttemptFinish], _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.queryIfOpen(
            PostgresQuery(unsafeSQL: JobTransitionSQL.appendHistory, binds: JobTransitionSQL.historyBindings(finishes)), logger: logger
        )
    }
}
