import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    /// Records the ends of attempts in one transaction: one `UPDATE ... FROM unnest(...)
    /// RETURNING id` for the whole batch, each finish fenced on `state = 'running'` and its lease
    /// token (and for the rescuer on `lease_until <= onlyIfLeaseExpiredBy`), then one INSERT of
    /// the history rows of the applied finishes that were not successes.
    ///
    /// A batch that names the same job twice is applied one finish at a time, in order, so the
    /// second sees the first (its token spent) exactly as separate calls would.
    public func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
        guard !finishes.isEmpty else { return [] }
        let transitions = finishes.map(Transition.init)
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
    func finishPlainCompletions(_ finishes: [AttemptFinish], _ transitions: [Transition]) async throws -> [FenceResult]? {
        guard finishes.indices.allSatisfy({ transitions[$0].isPlainCompletion(of: finishes[$0]) }) else { return nil }
        var seen: Set<Int64> = []
        seen.reserveCapacity(finishes.count)
        guard finishes.allSatisfy({ seen.insert($0.lease.jobID.rawValue).inserted }) else { return nil }
        let ids = try await execute("finish", FinishCompletions(
            ids: finishes.map(\.lease.jobID.rawValue), tokens: finishes.map(\.lease.token),
            finishedAt: finishes.map { Timestamp.micros($0.endedAt) }
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
        let transitions = finishes.map(Transition.init)
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

    /// Applies the finishes at `indices` in one statement; returns the ids it changed.
    /// A rescuer's condition (`onlyIfLeaseExpiredBy`) is judged by ``LeaseTimes``: on the
    /// database clock the lease must have expired by the server's time, whatever the rescuer's
    /// clock said.
    static func update(_ indices: [Int], _ finishes: [AttemptFinish], _ transitions: [Transition], _ connection: PostgresConnection, leaseTimes: LeaseTimes, logger: Logger) async throws -> Set<Int64> {
        var id: [Int64] = [], token: [Int64] = [], state: [String] = [], runAt: [Int64] = [], decrement: [Int] = []
        var finishedAt: [Int64] = [], deadReason: [String] = [], hasError: [Bool] = [], errorType: [String] = []
        var errorMessage: [String] = [], errorClass: [String] = [], active: [Bool] = [], expiredBy: [Int64] = []
        for index in indices {
            let finish = finishes[index], transition = transitions[index]
            id.append(finish.lease.jobID.rawValue)
            token.append(finish.lease.token)
            state.append(transition.state.rawValue)
            runAt.append(transition.runAt.map(Timestamp.micros) ?? Timestamp.none)
            decrement.append(transition.attemptDecrement)
            finishedAt.append(transition.finishedAt.map(Timestamp.micros) ?? Timestamp.none)
            deadReason.append(transition.deadReason?.rawValue ?? "")
            hasError.append(finish.error != nil)
            errorType.append(finish.error?.type ?? "")
            errorMessage.append(finish.error?.message ?? "")
            errorClass.append(finish.error?.errorClass.rawValue ?? "")
            active.append(JobState.active.contains(transition.state))
            expiredBy.append(Timestamp.micros(finish.onlyIfLeaseExpiredBy))
        }
        let none = Timestamp.none
        let query: PostgresQuery = """
            UPDATE surety_jobs AS j SET
                state = f.state,
                run_at = CASE WHEN f.run_at = \(none) THEN j.run_at ELSE f.run_at END,
                attempt = greatest(0, j.attempt - f.decrement),
                finished_at = CASE WHEN f.finished_at = \(none) THEN j.finished_at ELSE f.finished_at END,
                dead_reason = coalesce(nullif(f.dead_reason, ''), j.dead_reason),
                last_error_type = CASE WHEN f.has_error THEN f.error_type ELSE j.last_error_type END,
                last_error_message = CASE WHEN f.has_error THEN f.error_message ELSE j.last_error_message END,
                last_error_class = CASE WHEN f.has_error THEN f.error_class ELSE j.last_error_class END,
                lease_until = NULL,
                lease_token = NULL,
                unique_slot = CASE WHEN j.unique_scope = 'forever' OR f.active THEN j.unique_key END
            FROM unnest(\(id)::int8[], \(token)::int8[], \(state)::text[], \(runAt)::int8[], \(decrement)::int8[],
                        \(finishedAt)::int8[], \(deadReason)::text[], \(hasError)::bool[], \(errorType)::text[],
                        \(errorMessage)::text[], \(errorClass)::text[], \(active)::bool[], \(expiredBy)::int8[])
                 AS f(id, token, state, run_at, decrement, finished_at, dead_reason, has_error, error_type,
                      error_message, error_class, active, expired_by)
            WHERE j.id = f.id AND j.state = 'running' AND j.lease_token = f.token
              AND (f.expired_by = \(none) OR j.lease_until IS NULL OR j.lease_until <= \(unescaped: leaseTimes.clock == .database ? LeaseTimes.serverNowSQL : "f.expired_by"))
            RETURNING j.id
            """
        let ids = try await connection.queryIfOpen(query, logger: logger).collect { try $0[0].decode(Int64.self) }
        return Set(ids)
    }

    /// One INSERT of history rows, in batch order.
    static func appendHistory(_ finishes: [AttemptFinish], _ connection: PostgresConnection, logger: Logger) async throws {
        let jobID = finishes.map(\.lease.jobID.rawValue)
        let attempt = finishes.map(\.attempt)
        let worker = finishes.map(\.worker)
        let startedAt = finishes.map { Timestamp.micros($0.startedAt) }
        let endedAt = finishes.map { Timestamp.micros($0.endedAt) }
        let outcome = finishes.map(\.outcome.rawValue)
        let hasError = finishes.map { $0.error != nil }
        let errorType = finishes.map { $0.error?.type ?? "" }
        let errorMessage = finishes.map { $0.error?.message ?? "" }
        let errorClass = finishes.map { $0.error?.errorClass.rawValue ?? "" }
        try await connection.queryIfOpen("""
            INSERT INTO surety_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error_type, error_message, error_class)
            SELECT h.job_id, h.attempt, h.worker, h.started_at, h.ended_at, h.outcome,
                   CASE WHEN h.has_error THEN h.error_type END, CASE WHEN h.has_error THEN h.error_message END,
                   CASE WHEN h.has_error THEN h.error_class END
            FROM unnest(\(jobID)::int8[], \(attempt)::int8[], \(worker)::text[], \(startedAt)::int8[], \(endedAt)::int8[],
                        \(outcome)::text[], \(hasError)::bool[], \(errorType)::text[], \(errorMessage)::text[], \(errorClass)::text[])
                 WITH ORDINALITY AS h(job_id, attempt, worker, started_at, ended_at, outcome, has_error, error_type,
                                      error_message, error_class, ord)
            ORDER BY h.ord
            """, logger: logger)
    }

    /// The row change a finish makes (shared with every SQL store).
    typealias Transition = FinishTransition
}
