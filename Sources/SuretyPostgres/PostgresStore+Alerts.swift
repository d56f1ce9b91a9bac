import Foundation
import PostgresNIO
import Surety

extension PostgresStore: AlertObservationsStore, AlertStateStore {
    // MARK: Observations: one statement each

    public func attemptActivity(since: Date, until: Date) async throws -> [AttemptActivity] {
        let from = Timestamp.micros(since)
        let to = Timestamp.micros(until)
        let query: PostgresQuery = """
            SELECT 0 AS part, type, queue, count(*) AS n, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text
            FROM surety_jobs
            WHERE state = 'completed' AND finished_at >= \(from) AND finished_at <= \(to)
            GROUP BY type, queue
            UNION ALL
            SELECT 1, type, queue, failures, first_failure, ended_at, job_id, error_type, error_message, error_class, payload
            FROM (
                SELECT j.type, j.queue, a.ended_at, a.job_id, a.error_type, a.error_message, a.error_class, j.payload,
                       row_number() OVER (PARTITION BY j.type, j.queue ORDER BY a.ended_at DESC, a.job_id DESC, a.id DESC) AS rn,
                       count(*) OVER (PARTITION BY j.type, j.queue) AS failures,
                       min(a.ended_at) OVER (PARTITION BY j.type, j.queue) AS first_failure
                FROM surety_attempts a JOIN surety_jobs j ON j.id = a.job_id
                WHERE a.ended_at >= \(from) AND a.ended_at <= \(to) AND a.outcome IN ('failed', 'timed_out', 'lost')
            ) f WHERE rn = 1
            """
        let rows = try await self.query("alert activity", query) { rows in
            try await rows.collect { row -> AttemptActivity in
                let part = try row[0].decode(Int.self)
                var activity = AttemptActivity(type: try row[1].decode(String.self), queue: try row[2].decode(String.self), succeeded: 0, failed: 0)
                let count = try row[3].decode(Int.self)
                if part == 0 {
                    activity.succeeded = count
                } else {
                    activity.failed = count
                    activity.firstFailureAt = Timestamp.dateIfPresent(try row[4].decode(Int64?.self))
                    activity.lastFailure = ObservedFailure(
                        jobID: JobID(try row[6].decode(Int64.self)), at: Timestamp.date(try row[5].decode(Int64.self)),
                        error: Self.attemptError(type: try row[7].decode(String?.self), message: try row[8].decode(String?.self), errorClass: try row[9].decode(String?.self)),
                        payload: try row[10].decode(String.self)
                    )
                }
                return activity
            }
        }
        return AttemptActivity.merged(rows)
    }

    public func deadLetterSummary(since: Date) async throws -> [DeadLetterSummary] {
        let query: PostgresQuery = """
            SELECT type, queue, total, arrived, first_failure, id, finished_at, last_error_type, last_error_message, last_error_class, payload
            FROM (
                SELECT type, queue, id, finished_at, last_error_type, last_error_message, last_error_class, payload,
                       row_number() OVER (PARTITION BY type, queue ORDER BY finished_at DESC NULLS LAST, id DESC) AS rn,
                       count(*) OVER (PARTITION BY type, queue) AS total,
                       count(*) FILTER (WHERE finished_at >= \(Timestamp.micros(since))) OVER (PARTITION BY type, queue) AS arrived,
                       min(first_attempt_at) OVER (PARTITION BY type, queue) AS first_failure
                FROM surety_jobs WHERE state = 'dead'
            ) d WHERE rn = 1
            ORDER BY type, queue
            """
        return try await self.query("alert dead letters", query) { rows in
            try await rows.collect { row in
                DeadLetterSummary(
                    type: try row[0].decode(String.self), queue: try row[1].decode(String.self), count: try row[2].decode(Int.self),
                    arrivedSince: try row[3].decode(Int.self), firstFailureAt: Timestamp.dateIfPresent(try row[4].decode(Int64?.self)),
                    newest: ObservedFailure(
                        jobID: JobID(try row[5].decode(Int64.self)),
                        at: Timestamp.dateIfPresent(try row[6].decode(Int64?.self)) ?? Date(timeIntervalSince1970: 0),
                        error: Self.attemptError(type: try row[7].decode(String?.self), message: try row[8].decode(String?.self), errorClass: try row[9].decode(String?.self)),
                        payload: try row[10].decode(String.self)
                    )
                )
            }
        }
    }

    public func waitingWork(now: Date) async throws -> [WaitingWork] {
        let query: PostgresQuery = """
            SELECT queue, total, run_at, type FROM (
                SELECT queue, run_at, type,
                       row_number() OVER (PARTITION BY queue ORDER BY run_at, id) AS rn,
                       count(*) OVER (PARTITION BY queue) AS total
                FROM surety_jobs
                WHERE state IN ('scheduled', 'available', 'retrying') AND run_at <= \(Timestamp.micros(now))
            ) w WHERE rn = 1
            ORDER BY queue
            """
        return try await self.query("alert waiting work", query) { rows in
            try await rows.collect { row in
                WaitingWork(queue: try row[0].decode(String.self), count: try row[1].decode(Int.self),
                            oldestRunAt: Timestamp.date(try row[2].decode(Int64.self)), oldestType: try row[3].decode(String.self))
            }
        }
    }

    static func attemptError(type: String?, message: String?, errorClass: String?) -> AttemptError? {
        guard let type else { return nil }
        return AttemptError(type: type, message: message ?? "", errorClass: JobRow.errorClass(errorClass))
    }

    // MARK: Alert state

    public func alertStates() async throws -> [AlertStateRecord] {
        try await query("alert states", "SELECT key, status, version, updated_at, state FROM surety_alerts ORDER BY key") { rows in
            try await rows.collect { row in
                AlertStateRecord(
                    key: try row[0].decode(String.self), status: try row[1].decode(String.self), version: try row[2].decode(Int.self),
                    updatedAt: Timestamp.date(try row[3].decode(Int64.self)), body: try row[4].decode(String.self)
                )
            }
        }
    }

    public func saveAlertState(_ record: AlertStateRecord, expectedVersion: Int?) async throws -> Bool {
        let updatedAt = Timestamp.micros(record.updatedAt)
        let query: PostgresQuery
        if let expectedVersion {
            query = """
                UPDATE surety_alerts SET status = \(record.status), version = \(record.version), updated_at = \(updatedAt),
                       state = \(record.body)
                WHERE key = \(record.key) AND version = \(expectedVersion)
                RETURNING key
                """
        } else {
            query = """
                INSERT INTO surety_alerts (key, status, version, updated_at, state)
                VALUES (\(record.key), \(record.status), \(record.version), \(updatedAt), \(record.body))
                ON CONFLICT (key) DO NOTHING
                RETURNING key
                """
        }
        let written = try await self.query("save alert state", query) { rows in try await rows.collect { try $0[0].decode(String.self) } }
        return written.count == 1
    }

    public func deleteAlertStates(_ keys: [String], updatedBefore before: Date) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        let query: PostgresQuery = """
            DELETE FROM surety_alerts WHERE key = ANY(\(keys)::text[]) AND updated_at < \(Timestamp.micros(before)) RETURNING key
            """
        return try await self.query("delete alert states", query) { rows in try await rows.collect { try $0[0].decode(String.self) } }.count
    }
}
