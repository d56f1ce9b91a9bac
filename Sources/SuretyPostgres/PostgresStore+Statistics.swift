import Foundation
import PostgresNIO
import Surety

extension PostgresStore: JobStatisticsStore {
    /// Grouped statements in one transaction: counts by queue and state, finished jobs per
    /// bucket (through `surety_jobs_finished (state, finished_at)`), the window's counts, and
    /// `percentile_cont` per queue and over all queues (`GROUPING SETS`). See
    /// `JobStatisticsStore` for the definitions.
    public func jobStatistics(_ request: JobStatisticsRequest) async throws -> JobStatistics {
        let now = Timestamp.micros(request.now)
        let since = Timestamp.micros(request.windowStart)
        let tenant = request.tenant?.rawValue
        let shapes = request.series.map { (start: Timestamp.micros($0.start(now: request.now)), bucket: Int64($0.bucketSeconds) * 1_000_000) }
        let percents = LatencyPercentiles.reported.map { Double($0) / 100 }
        return try await transaction("job statistics") { connection in
            var assembler = JobStatisticsAssembler(request: request)
            let logger = self.logger
            let counts: PostgresQuery = """
                SELECT queue, state, count(*) FROM surety_jobs WHERE (\(tenant)::text IS NULL OR tenant = \(tenant))
                GROUP BY queue, state
                """
            for try await (queue, state, count) in try await connection.queryIfOpen(counts, logger: logger).decode((String, String, Int).self) {
                guard let state = JobState(rawValue: state) else { continue }
                assembler.addCount(queue: queue, state: state, count: count)
            }
            for (index, shape) in shapes.enumerated() {
                let series: PostgresQuery = """
                    SELECT queue, state, (finished_at - \(shape.start)) / \(shape.bucket) AS b, count(*) FROM surety_jobs
                    WHERE state IN ('completed', 'dead') AND finished_at >= \(shape.start) AND finished_at < \(now)
                      AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                    GROUP BY queue, state, b
                    """
                for try await (queue, state, bucket, count) in try await connection.queryIfOpen(series, logger: logger).decode((String, String, Int64, Int).self) {
                    guard let state = JobState(rawValue: state) else { continue }
                    assembler.addFinished(queue: queue, state: state, series: index, bucket: Int(bucket), count: count)
                }
            }
            let window: PostgresQuery = """
                SELECT queue, count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'dead'), 0::bigint FROM surety_jobs
                WHERE state IN ('completed', 'dead') AND finished_at >= \(since) AND finished_at <= \(now)
                  AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                GROUP BY queue
                UNION ALL
                SELECT j.queue, 0, 0, count(*) FROM surety_attempts a JOIN surety_jobs j ON j.id = a.job_id
                WHERE a.ended_at >= \(since) AND a.ended_at <= \(now) AND a.outcome IN ('failed', 'timed_out', 'lost')
                  AND (\(tenant)::text IS NULL OR j.tenant = \(tenant))
                GROUP BY j.queue
                """
            for try await (queue, completed, dead, failed) in try await connection.queryIfOpen(window, logger: logger).decode((String, Int, Int, Int).self) {
                assembler.addWindow(queue: queue, completed: completed, dead: dead, failedAttempts: failed)
            }
            let latencies: PostgresQuery = """
                SELECT metric, queue, GROUPING(queue), count(*), percentile_cont(\(percents)::float8[]) WITHIN GROUP (ORDER BY x), max(x)::float8
                FROM (
                    SELECT 'run' AS metric, queue, (finished_at - attempted_at)::float8 AS x FROM surety_jobs
                    WHERE state = 'completed' AND finished_at >= \(since) AND finished_at <= \(now) AND attempted_at IS NOT NULL
                      AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                    UNION ALL
                    SELECT 'pickup', queue, (attempted_at - run_at)::float8 FROM surety_jobs
                    WHERE attempted_at >= \(since) AND attempted_at <= \(now) AND attempted_at >= run_at
                      AND (state = 'running' OR (state IN ('completed', 'dead') AND finished_at >= \(since)))
                      AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                ) v
                GROUP BY GROUPING SETS ((metric, queue), (metric))
                """
            for try await (metric, queue, grouped, count, values, max) in try await connection.queryIfOpen(latencies, logger: logger)
                .decode((String, String?, Int32, Int, [Double], Double).self) {
                let seconds = values.map { $0 / 1_000_000 }
                let result = LatencyPercentiles(count: count, p50: seconds.first, p95: seconds.dropFirst().first, p99: seconds.dropFirst(2).first, max: max / 1_000_000)
                let name = grouped == 0 ? queue : nil
                if metric == "run" { assembler.setLatencies(queue: name, pickup: nil, run: result) } else { assembler.setLatencies(queue: name, pickup: result, run: nil) }
            }
            return assembler.result()
        }
    }
}
