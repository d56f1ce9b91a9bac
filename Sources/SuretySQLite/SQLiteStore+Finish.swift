import Foundation
import GRDB
import Surety

extension SQLiteStore {
    /// Records the ends of attempts in one transaction: the hot path of every worker (the
    /// completion batcher hands over hundreds at a time).
    ///
    /// Each finish is the transition `JobLifecycle.finish` defines, conditional on the lease token
    /// (and for the rescuer on the lease having expired). The batch is written with multi-row
    /// `UPDATE ... FROM (VALUES ...) RETURNING id` statements; `unique_slot` follows
    /// `JobLifecycle.holdsUniqueKey` for the new state; a history row is appended for every
    /// applied finish except a success.
    public func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
        guard !finishes.isEmpty else { return [] }
        try StoreErrors.refuseNUL(finishes.map(\.worker), "the worker id")
        let (results, wake) = try await write("finish") { db in try Self.finish(finishes, db) }
        if wake { signal() }
        return results
    }

    static func finish(_ finishes: [AttemptFinish], _ db: Database) throws -> ([FenceResult], Bool) {
        let transitions = finishes.map(Transition.init)
        var seen: Set<Int64> = []
        seen.reserveCapacity(finishes.count)
        let distinct = finishes.allSatisfy { seen.insert($0.lease.jobID.rawValue).inserted }
        // The same job twice in one batch: apply one by one, so the second sees the first (its
        // token spent) exactly as separate calls would.
        let applied = distinct
            ? try updateInChunks(finishes, transitions, db)
            : try updateOneByOne(finishes, transitions, db)
        var results: [FenceResult] = []
        results.reserveCapacity(finishes.count)
        var wake = false
        for index in finishes.indices {
            guard applied[index] else {
                results.append(.leaseLost)
                continue
            }
            results.append(.applied)
            if transitions[index].isDue { wake = true }
            if transitions[index].writesHistory { try appendHistory(finishes[index], db) }
        }
        try applyCancelRequests(finishes, results, db)
        CrashPoints.reach(.outcomeBatch)
        if try advanceWorkflows(finishes.indices.filter { applied[$0] }.map { finishes[$0].lease.jobID }, at: finishes[0].endedAt, db) { wake = true }
        return (results, wake)
    }

    // MARK: Statements

    /// One finish's values, in the order of the VALUES columns below.
    static let finishColumnCount = 12

    static func finishSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: finishColumnCount).joined(separator: ", ") + ")"
        // VALUES columns: 1 id, 2 token, 3 state, 4 run_at, 5 attempt decrement, 6 finished_at,
        // 7 dead_reason, 8-10 error type/message/class, 11 new state holds a whileActive key,
        // 12 only if the lease expired by.
        return """
            UPDATE surety_jobs SET
                state = f.column3,
                run_at = coalesce(f.column4, surety_jobs.run_at),
                attempt = max(0, surety_jobs.attempt - f.column5),
                finished_at = coalesce(f.column6, surety_jobs.finished_at),
                dead_reason = coalesce(f.column7, surety_jobs.dead_reason),
                last_error_type = coalesce(f.column8, surety_jobs.last_error_type),
                last_error_message = coalesce(f.column9, surety_jobs.last_error_message),
                last_error_class = coalesce(f.column10, surety_jobs.last_error_class),
                lease_until = NULL,
                lease_token = NULL,
                unique_slot = CASE WHEN surety_jobs.unique_scope = 'forever' OR f.column11 THEN surety_jobs.unique_key END
            FROM (VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))) AS f
            WHERE surety_jobs.id = f.column1 AND surety_jobs.state = 'running' AND surety_jobs.lease_token = f.column2
              AND (f.column12 IS NULL OR surety_jobs.lease_until IS NULL OR surety_jobs.lease_until <= f.column12)
            RETURNING surety_jobs.id
            """
    }

    static let chunkSizesForFinish = [128, 32, 8, 1]

    /// The statements for each of ``chunkSizesForFinish``, built once.
    static let finishSQLs = Dictionary(uniqueKeysWithValues: chunkSizesForFinish.map { ($0, finishSQL(rows: $0)) })

    static func appendValues(_ finish: AttemptFinish, _ transition: Transition, to values: inout [DatabaseValue]) {
        let expiredBy = finish.onlyIfLeaseExpiredBy.map(Timestamp.micros).sqlValue
        values.append(finish.lease.jobID.rawValue.databaseValue)
        values.append(finish.lease.token.databaseValue)
        values.append(transition.state.rawValue.databaseValue)
        values.append(transition.runAt.map(Timestamp.micros).sqlValue)
        values.append(transition.attemptDecrement.databaseValue)
        values.append(transition.finishedAt.map(Timestamp.micros).sqlValue)
        values.append((transition.deadReason?.rawValue).sqlValue)
        values.append((finish.error?.type).sqlValue)
        values.append((finish.error?.message).sqlValue)
        values.append((finish.error?.errorClass.rawValue).sqlValue)
        values.append(JobState.active.contains(transition.state).databaseValue)
        values.append(expiredBy)
    }

    // A plain success (FinishTransition.isPlainCompletion), the common finish, is written by a
    // narrower statement that binds 3 values instead of 12 and sets constants (about a fifth
    // less SQLite time per job in the drain, docs/benchmarks.md). Its effect on the row is
    // exactly the general statement's for such a finish.

    static let completionColumnCount = 3

    static func completionSQL(rows: Int) -> String {
        // VALUES columns: 1 id, 2 token, 3 finished_at.
        """
        UPDATE surety_jobs SET
            state = 'completed',
            finished_at = f.column3,
            lease_until = NULL,
            lease_token = NULL,
            unique_slot = CASE WHEN surety_jobs.unique_scope = 'forever' THEN surety_jobs.unique_key END
        FROM (VALUES \(Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", "))) AS f
        WHERE surety_jobs.id = f.column1 AND surety_jobs.state = 'running' AND surety_jobs.lease_token = f.column2
        RETURNING surety_jobs.id
        """
    }

    /// The statements for each of ``chunkSizesForFinish``, built once.
    static let completionSQLs = Dictionary(uniqueKeysWithValues: chunkSizesForFinish.map { ($0, completionSQL(rows: $0)) })

    /// Distinct jobs: multi-row updates, plain successes by the narrow statement and the rest
    /// by the general one. Returns whether each finish applied.
    static func updateInChunks(_ finishes: [AttemptFinish], _ transitions: [Transition], _ db: Database) throws -> [Bool] {
        var appliedIDs: Set<Int64> = []
        appliedIDs.reserveCapacity(finishes.count)
        var plain: [Int] = []
        var general: [Int] = []
        plain.reserveCapacity(finishes.count)
        for index in finishes.indices {
            if transitions[index].isPlainCompletion(of: finishes[index]) { plain.append(index) } else { general.append(index) }
        }
        try updateChunks(plain, columns: completionColumnCount, sqls: completionSQLs, sql: completionSQL, db, into: &appliedIDs) { index, values in
            let finish = finishes[index]
            values.append(finish.lease.jobID.rawValue.databaseValue)
            values.append(finish.lease.token.databaseValue)
            values.append(Timestamp.micros(finish.endedAt).databaseValue)
        }
        try updateChunks(general, columns: finishColumnCount, sqls: finishSQLs, sql: finishSQL, db, into: &appliedIDs) { index, values in
            appendValues(finishes[index], transitions[index], to: &values)
        }
        return finishes.map { appliedIDs.contains($0.lease.jobID.rawValue) }
    }

    /// Runs the multi-row statement for `indices` in chunks of ``chunkSizesForFinish``, adding
    /// the ids it returns (the finishes that applied) to `appliedIDs`.
    private static func updateChunks(
        _ indices: [Int], columns: Int, sqls: [Int: String], sql: (Int) -> String, _ db: Database,
        into appliedIDs: inout Set<Int64>, values append: (Int, inout [DatabaseValue]) -> Void
    ) throws {
        var start = 0
        while start < indices.count {
            let rows = chunkSizesForFinish.first { $0 <= indices.count - start } ?? 1
            var values: [DatabaseValue] = []
            values.reserveCapacity(rows * columns)
            for index in indices[start..<(start + rows)] { append(index, &values) }
            try DirectStatement(sqls[rows] ?? sql(rows), db).forEachRow(values) { row in
                appliedIDs.insert(row.int64(0))
            }
            start += rows
        }
    }

    /// Finishes in order, one statement each. Returns whether each finish applied.
    static func updateOneByOne(_ finishes: [AttemptFinish], _ transitions: [Transition], _ db: Database) throws -> [Bool] {
        let statement = try DirectStatement(finishSQLs[1] ?? finishSQL(rows: 1), db)
        return try zip(finishes, transitions).map { finish, transition in
            var values: [DatabaseValue] = []
            values.reserveCapacity(finishColumnCount)
            appendValues(finish, transition, to: &values)
            var applied = false
            try statement.forEachRow(values) { _ in applied = true }
            return applied
        }
    }

    static let historySQL = """
        INSERT INTO surety_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error_type, error_message, error_class)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func appendHistory(_ finish: AttemptFinish, _ db: Database) throws {
        let values: [DatabaseValue] = [
            finish.lease.jobID.rawValue.databaseValue, finish.attempt.databaseValue, finish.worker.databaseValue,
            Timestamp.micros(finish.startedAt).databaseValue, Timestamp.micros(finish.endedAt).databaseValue,
            finish.outcome.rawValue.databaseValue, (finish.error?.type).sqlValue, (finish.error?.message).sqlValue,
            (finish.error?.errorClass.rawValue).sqlValue,
        ]
        try DirectStatement(historySQL, db).execute(values)
    }

    // MARK: Transition

    /// The row change a finish makes (shared with every SQL store).
    typealias Transition = FinishTransition
}
