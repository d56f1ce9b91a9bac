import Foundation
import GRDB
import Surety

extension SQLiteStore {
    /// Records the ends of attempts in one transaction: the hot path of every worker (the
    /// completion batcher hands over hundreds at a time).
    ///
    /// Each finish is the core's transition (`JobLifecycle.transition(for:)` of
    /// `.finish`), fenced on the lease token (and for the rescuer on the lease having expired),
    /// bound to `JobTransitionSQL.finish(rows:)`, or to `JobTransitionSQL.finishCompletions(rows:)`
    /// for a plain success: multi-row `UPDATE ... FROM (VALUES ...) RETURNING id` statements. A
    /// history row is appended for every applied finish that writes one.
    public func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
        guard !finishes.isEmpty else { return [] }
        try StoreErrors.refuseNUL(finishes.map(\.worker), "the worker id")
        let (results, wake) = try await write("finish") { db in try Self.finish(finishes, db) }
        if wake { signal() }
        return results
    }

    static func finish(_ finishes: [AttemptFinish], _ db: Database) throws -> ([FenceResult], Bool) {
        let transitions = finishes.map { JobLifecycle.transition(for: .finish($0)) }
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
            if transitions[index].writesHistory {
                try DirectStatement(JobTransitionSQL.appendHistory, db).execute(JobTransitionSQL.historyValues(finishes[index]))
            }
        }
        try applyCancelRequests(finishes, results, db)
        CrashPoints.reach(.outcomeBatch)
        if try advanceWorkflows(finishes.indices.filter { applied[$0] }.map { finishes[$0].lease.jobID }, at: finishes[0].endedAt, db) { wake = true }
        return (results, wake)
    }

    // MARK: Chunks

    static let chunkSizesForFinish = [128, 32, 8, 1]

    /// ``JobTransitionSQL/finish(rows:)`` for each of ``chunkSizesForFinish``, built once.
    static let finishSQLs = Dictionary(uniqueKeysWithValues: chunkSizesForFinish.map { ($0, JobTransitionSQL.finish(rows: $0)) })

    /// ``JobTransitionSQL/finishCompletions(rows:)`` for each of ``chunkSizesForFinish``, built once.
    static let completionSQLs = Dictionary(uniqueKeysWithValues: chunkSizesForFinish.map { ($0, JobTransitionSQL.finishCompletions(rows: $0)) })

    /// Distinct jobs: multi-row updates, plain successes by the narrow statement and the rest
    /// by the general one. Returns whether each finish applied.
    static func updateInChunks(_ finishes: [AttemptFinish], _ transitions: [JobTransition], _ db: Database) throws -> [Bool] {
        var appliedIDs: Set<Int64> = []
        appliedIDs.reserveCapacity(finishes.count)
        var plain: [Int] = []
        var general: [Int] = []
        plain.reserveCapacity(finishes.count)
        for index in finishes.indices {
            if transitions[index].isPlainCompletion { plain.append(index) } else { general.append(index) }
        }
        try updateChunks(
            plain, columns: JobTransitionSQL.finishCompletionColumnCount, sqls: completionSQLs,
            sql: JobTransitionSQL.finishCompletions, db, into: &appliedIDs
        ) { index, values in
            JobTransitionSQL.finishCompletionValues(finishes[index].lease.jobID, transitions[index], into: &values)
        }
        try updateChunks(
            general, columns: JobTransitionSQL.finishColumnCount, sqls: finishSQLs,
            sql: JobTransitionSQL.finish, db, into: &appliedIDs
        ) { index, values in
            JobTransitionSQL.finishValues(finishes[index].lease.jobID, transitions[index], into: &values)
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
    static func updateOneByOne(_ finishes: [AttemptFinish], _ transitions: [JobTransition], _ db: Database) throws -> [Bool] {
        let statement = try DirectStatement(finishSQLs[1] ?? JobTransitionSQL.finish(rows: 1), db)
        return try zip(finishes, transitions).map { finish, transition in
            var values: [DatabaseValue] = []
            values.reserveCapacity(JobTransitionSQL.finishColumnCount)
            JobTransitionSQL.finishValues(finish.lease.jobID, transition, into: &values)
            var applied = false
            try statement.forEachRow(values) { _ in applied = true }
            return applied
        }
    }
}
