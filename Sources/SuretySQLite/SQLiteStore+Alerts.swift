import Foundation
import GRDB
import Surety

extension SQLiteStore: AlertObservationsStore, AlertStateStore {
    // MARK: Observations: one read each

    public func attemptActivity(since: Date, until: Date) async throws -> [AttemptActivity] {
        // Completions per group, and failed attempts per group with the newest one's error and
        // payload (row_number), in one statement; merged below.
        let sql = """
            SELECT 0 AS part, type, queue, count(*) AS n, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM surety_jobs
            WHERE state = 'completed' AND finished_at >= :since AND finished_at <= :until
            GROUP BY type, queue
            UNION ALL
            SELECT 1, type, queue, failures, first_failure, ended_at, job_id, error_type, error_message, error_class, payload
            FROM (
                SELECT j.type, j.queue, a.ended_at, a.job_id, a.error_type, a.error_message, a.error_class, j.payload,
                       row_number() OVER (PARTITION BY j.type, j.queue ORDER BY a.ended_at DESC, a.job_id DESC, a.id DESC) AS rn,
                       count(*) OVER (PARTITION BY j.type, j.queue) AS failures,
                       min(a.ended_at) OVER (PARTITION BY j.type, j.queue) AS first_failure
                FROM surety_attempts a JOIN surety_jobs j ON j.id = a.job_id
                WHERE a.ended_at >= :since AND a.ended_at <= :until AND a.outcome IN ('failed', 'timed_out', 'lost')
            ) WHERE rn = 1
            """
        let arguments: StatementArguments = ["since": Timestamp.micros(since), "until": Timestamp.micros(until)]
        return try await read("alert activity") { db in
            let parts = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row -> AttemptActivity in
                var part = AttemptActivity(type: row[1], queue: row[2], succeeded: 0, failed: 0)
                if (row[0] as Int) == 0 {
                    part.succeeded = row[3]
                } else {
                    part.failed = row[3]
                    part.firstFailureAt = Timestamp.dateIfPresent(row[4])
                    part.lastFailure = ObservedFailure(
                        jobID: JobID(row[6] as Int64), at: Timestamp.date(row[5]),
                        error: Self.attemptError(type: row[7], message: row[8], errorClass: row[9]), payload: row[10]
                    )
                }
                return part
            }
            return AttemptActivity.merged(parts)
        }
    }

    public func deadLetterSummary(since: Date) async throws -> [DeadLetterSummary] {
        // Reads only dead rows (the surety_jobs_dead partial index).
        let sql = """
            SELECT type, queue, total, arrived, first_failure, id, finished_at, last_error_type, last_error_message, last_error_class, payload
            FROM (
                SELECT type, queue, id, finished_at, last_error_type, last_error_message, last_error_class, payload,
                       row_number() OVER (PARTITION BY type, queue ORDER BY finished_at DESC, id DESC) AS rn,
                       count(*) OVER (PARTITION BY type, queue) AS total,
                       sum(CASE WHEN finished_at >= :since THEN 1 ELSE 0 END) OVER (PARTITION BY type, queue) AS arrived,
                       min(first_attempt_at) OVER (PARTITION BY type, queue) AS first_failure
                FROM surety_jobs WHERE state = 'dead'
            ) WHERE rn = 1
            ORDER BY type, queue
            """
        let arguments: StatementArguments = ["since": Timestamp.micros(since)]
        return try await read("alert dead letters") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                DeadLetterSummary(
                    type: row[0], queue: row[1], count: row[2], arrivedSince: row[3], firstFailureAt: Timestamp.dateIfPresent(row[4]),
                    newest: ObservedFailure(
                        jobID: JobID(row[5] as Int64), at: Timestamp.dateIfPresent(row[6]) ?? Date(timeIntervalSince1970: 0),
                        error: Self.attemptError(type: row[7], message: row[8], errorClass: row[9]), payload: row[10]
                    )
                )
            }
        }
    }

    public func waitingWork(now: Date) async throws -> [WaitingWork] {
        // Reads the claimable rows (the surety_jobs_claimable partial index) in one pass. With a
        // single min() aggregate, SQLite takes the bare column `type` from the row holding the
        // minimum (documented SQLite behaviour); ten times faster than a window function here.
        let sql = """
            SELECT queue, count(*), min(run_at), type
            FROM surety_jobs INDEXED BY surety_jobs_claimable
            WHERE \(WaitingStates.condition) AND run_at <= :now
            GROUP BY queue
            ORDER BY queue
            """
        let arguments: StatementArguments = ["now": Timestamp.micros(now)]
        return try await read("alert waiting work") { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                WaitingWork(queue: row[0], count: row[1], oldestRunAt: Timestamp.date(row[2]), oldestType: row[3])
            }
        }
    }

    static func attemptError(type: String?, message: String?, errorClass: String?) -> AttemptError? {
        guard let type else { return nil }
        return AttemptError(type: type, message: message ?? "", errorClass: JobRow.errorClass(errorClass))
    }

    // MARK: Alert state

    public func alertStates() async throws -> [AlertStateRecord] {
        try await read("alert states") { db in
            try Row.fetchAll(db, sql: "SELECT key, status, version, updated_at, state FROM surety_alerts ORDER BY key").map { row in
                AlertStateRecord(key: row[0], status: row[1], version: row[2], updatedAt: Timestamp.date(row[3]), body: row[4])
            }
        }
    }

    public func saveAlertState(_ record: AlertStateRecord, expectedVersion: Int?) async throws -> Bool {
        try await write("save alert state") { db in
            if let expectedVersion {
                try db.execute(sql: """
                    UPDATE surety_alerts SET status = ?, version = ?, updated_at = ?, state = ? WHERE key = ? AND version = ?
                    """, arguments: [record.status, record.version, Timestamp.micros(record.updatedAt), record.body, record.key, expectedVersion])
            } else {
                try db.execute(sql: """
                    INSERT INTO surety_alerts (key, status, version, updated_at, state) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (key) DO NOTHING
                    """, arguments: [record.key, record.status, record.version, Timestamp.micros(record.updatedAt), record.body])
            }
            return db.changesCount == 1
        }
    }

    public func deleteAlertStates(_ keys: [String], updatedBefore before: Date) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await write("delete alert states") { db in
            let marks = Array(repeating: "?", count: keys.count).joined(separator: ", ")
            var arguments = StatementArguments(keys)
            arguments += [Timestamp.micros(before)]
            try db.execute(sql: "DELETE FROM surety_alerts WHERE key IN (\(marks)) AND updated_at < ?", arguments: arguments)
            return db.changesCount
        }
    }
}
