import Foundation
import GRDB
import Surety

extension SQLiteStore: JobStatisticsStore {
    /// A few grouped reads in one snapshot. The series and windows read finished jobs through
    /// the `surety_jobs_finished (state, finished_at)` index; the percentiles select only the
    /// ranks they need with `row_number()` (SQLite has no `percentile_cont`) and interpolate
    /// them as PostgreSQL does. See `JobStatisticsStore` for the definitions.
    public func jobStatistics(_ request: JobStatisticsRequest) async throws -> JobStatistics {
        let now = Timestamp.micros(request.now)
        let since = Timestamp.micros(request.windowStart)
        let tenant = request.tenant?.rawValue
        let shapes = request.series.map { (start: Timestamp.micros($0.start(now: request.now)), bucket: Int64($0.bucketSeconds) * 1_000_000) }
        return try await read("job statistics") { db in
            var assembler = JobStatisticsAssembler(request: request)
            let tenantClause = "(:tenant IS NULL OR tenant = :tenant)"
            for row in try Row.fetchAll(db, sql: "SELECT queue, state, count(*) FROM surety_jobs WHERE \(tenantClause) GROUP BY queue, state",
                                        arguments: ["tenant": tenant]) {
                guard let state = JobState(rawValue: row[1]) else { continue }
                assembler.addCount(queue: row[0], state: state, count: row[2])
            }
            for (index, shape) in shapes.enumerated() {
                let sql = """
                    SELECT queue, state, (finished_at - :start) / :bucket AS b, count(*) FROM surety_jobs
                    WHERE state IN ('completed', 'dead') AND finished_at >= :start AND finished_at < :end AND \(tenantClause)
                    GROUP BY queue, state, b
                    """
                let arguments: StatementArguments = ["start": shape.start, "bucket": shape.bucket, "end": now, "tenant": tenant]
                for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                    guard let state = JobState(rawValue: row[1]) else { continue }
                    assembler.addFinished(queue: row[0], state: state, series: index, bucket: Int(row[2] as Int64), count: row[3])
                }
            }
            let window = """
                SELECT queue, sum(state = 'completed'), sum(state = 'dead'), 0 FROM surety_jobs
                WHERE state IN ('completed', 'dead') AND finished_at >= :since AND finished_at <= :now AND \(tenantClause)
                GROUP BY queue
                UNION ALL
                SELECT j.queue, 0, 0, count(*) FROM surety_attempts a JOIN surety_jobs j ON j.id = a.job_id
                WHERE a.ended_at >= :since AND a.ended_at <= :now AND a.outcome IN ('failed', 'timed_out', 'lost')
                  AND (:tenant IS NULL OR j.tenant = :tenant)
                GROUP BY j.queue
                """
            for row in try Row.fetchAll(db, sql: window, arguments: ["since": since, "now": now, "tenant": tenant]) {
                assembler.addWindow(queue: row[0], completed: row[1], dead: row[2], failedAttempts: row[3])
            }
            let run = (value: "finished_at - attempted_at",
                       filter: "state = 'completed' AND finished_at >= :since AND finished_at <= :now AND attempted_at IS NOT NULL")
            let pickup = (value: "attempted_at - run_at",
                          filter: """
                              attempted_at >= :since AND attempted_at <= :now AND attempted_at >= run_at
                              AND (state = 'running' OR (state IN ('completed', 'dead') AND finished_at >= :since))
                              """)
            for queue in [true, false] {
                let runs = try Self.percentiles(db, value: run.value, filter: run.filter, byQueue: queue, since: since, now: now, tenant: tenant)
                let pickups = try Self.percentiles(db, value: pickup.value, filter: pickup.filter, byQueue: queue, since: since, now: now, tenant: tenant)
                for name in Set(runs.keys).union(pickups.keys) {
                    assembler.setLatencies(queue: queue ? name : nil, pickup: pickups[name], run: runs[name])
                }
            }
            return assembler.result()
        }
    }

    /// The percentiles of `value` (microseconds) over the rows matching `filter`, per queue or
    /// (with `byQueue` false) over all of them under the key "".
    private static func percentiles(_ db: Database, value: String, filter: String, byQueue: Bool, since: Int64, now: Int64, tenant: String?) throws -> [String: LatencyPercentiles] {
        let partition = byQueue ? "PARTITION BY queue" : ""
        let ranks = LatencyPercentiles.reported.flatMap { ["(n - 1) * \($0) / 100 + 1", "(n - 1) * \($0) / 100 + 2"] }.joined(separator: ", ")
        let sql = """
            SELECT q, n, rn, x FROM (
                SELECT \(byQueue ? "queue" : "''") AS q, \(value) AS x,
                       row_number() OVER (\(partition) ORDER BY \(value)) AS rn, count(*) OVER (\(partition)) AS n
                FROM surety_jobs WHERE \(filter) AND (:tenant IS NULL OR tenant = :tenant)
            ) WHERE rn = n OR rn IN (\(ranks))
            """
        var found: [String: (count: Int, values: [Int: Double])] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: ["since": since, "now": now, "tenant": tenant]) {
            let queue: String = row[0]
            var entry = found[queue] ?? (row[1], [:])
            entry.values[row[2]] = Double(row[3] as Int64) / 1_000_000
            found[queue] = entry
        }
        return found.mapValues { entry in LatencyPercentiles.interpolated(count: entry.count) { entry.values[$0] } }
    }
}
