import Foundation
import GRDB
import Surety

extension SQLiteStore {
    // MARK: Claim

    public func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
        try StoreErrors.refuseNUL([request.worker] + request.queues, "the claim's worker id or queue name")
        var queues: [String] = []
        for queue in request.queues where !queues.contains(queue) { queues.append(queue) }
        guard request.limit > 0, !queues.isEmpty else { return [] }
        let claimQueues = queues
        let claimed = try await write("claim") { db in
            // Queues with claim limits take the flow-control path (SQLiteStore+FlowControl.swift);
            // without any, this is one cached-dictionary check in memory.
            let limits = try self.currentLimits(db, now: request.now)
            if !limits.isEmpty, claimQueues.contains(where: { limits[$0]?.limitsClaims == true }) {
                return try self.claimWithLimits(db, queues: claimQueues, limits: limits, request: request)
            }
            return try Self.fastClaim(db, queues: claimQueues, limit: request.limit, request: request)
        }
        // RETURNING does not promise an order.
        return claimed.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    /// One statement: lease the most urgent due jobs and return them. Each row gets its own
    /// random positive lease token from SQLite's `random()`.
    ///
    /// The candidates are read from the claim index by range seeks, never by a scan of jobs that
    /// are not due: per queue, one seek per priority 0...9 (`priority IN (...)` lets SQLite seek
    /// `(queue, priority, run_at <= now)` and keep the index order), plus two seeks for the
    /// priorities outside that range (which `JobQueue` never writes, but the store contract
    /// allows). A plain `ORDER BY priority, run_at` walk would step over every job scheduled for
    /// later at a more urgent priority, while holding the write lock. The candidates of all
    /// branches (at most `limit` each) are then ordered and cut to `limit`.
    /// ``claimSQL(queueCount:)`` for one to four queues, built once.
    static let claimSQLs = (1...4).map { claimSQL(queueCount: $0) }

    static func cachedClaimSQL(queueCount: Int) -> String {
        queueCount >= 1 && queueCount <= claimSQLs.count ? claimSQLs[queueCount - 1] : claimSQL(queueCount: queueCount)
    }

    static func claimSQL(queueCount: Int) -> String {
        let claimable = WaitingStates.condition
        let priorities = ["priority IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)", "priority < 0", "priority > 9"]
        var branches: [String] = []
        for index in 0..<queueCount {
            for priority in priorities {
                branches.append("""
                    SELECT * FROM (
                        SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_claimable
                        WHERE \(claimable) AND queue = :q\(index) AND \(priority) AND run_at <= :now
                        ORDER BY priority, run_at, id LIMIT :limit)
                    """)
            }
        }
        return """
            UPDATE surety_jobs
            SET state = 'running',
                attempt = attempt + 1,
                attempted_at = :now,
                attempted_by = :worker,
                first_attempt_at = coalesce(first_attempt_at, :now),
                lease_until = :leaseUntil,
                lease_token = max(1, random() & 9223372036854775807)
            WHERE id IN (
                SELECT id FROM (\(branches.joined(separator: "\nUNION ALL\n")))
                ORDER BY priority, run_at, id LIMIT :limit)
            RETURNING id, type, queue, priority, tenant, payload, attempt, max_attempts, lease_token, lease_until,
                      enqueued_at, run_at, first_attempt_at, tags, correlation, trace_context
            """
    }

    /// A claimed job from a row of the claim's `RETURNING` list (the columns in that order).
    static func decodeClaimed(_ row: DirectStatement.Columns, json: inout JSONColumns.DecodingCache) -> ClaimedJob {
        let id = JobID(row.int64(0))
        return ClaimedJob(
            id: id,
            type: row.string(1),
            queue: row.string(2),
            priority: row.int(3),
            tenant: TenantID(unchecked: row.string(4)),
            payload: row.string(5),
            attempt: row.int(6),
            maxAttempts: row.int(7),
            lease: Lease(jobID: id, token: row.int64(8)),
            leaseUntil: Timestamp.date(row.int64(9)),
            enqueuedAt: Timestamp.date(row.int64(10)),
            runAt: Timestamp.date(row.int64(11)),
            firstAttemptAt: Timestamp.date(row.int64(12)),
            tags: json.tags(row.stringIfPresent(13)),
            correlation: json.correlation(row.stringIfPresent(14)),
            traceContext: JSONColumns.decodeCorrelation(row.stringIfPresent(15))
        )
    }

    // MARK: Heartbeat

    static let heartbeatSQL = """
        UPDATE surety_jobs SET lease_until = ?
        WHERE id = ? AND state = 'running' AND lease_token = ?
        """

    public func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        let until = Timestamp.micros(until)
        return try await write("heartbeat") { db in
            let statement = try db.cachedStatement(sql: Self.heartbeatSQL)
            var lost: [Lease] = []
            for lease in leases {
                try statement.execute(arguments: StatementArguments([
                    until.databaseValue, lease.jobID.rawValue.databaseValue, lease.token.databaseValue,
                ]))
                if db.changesCount == 0 { lost.append(lease) }
            }
            return lost
        }
    }

    // MARK: Rescue

    public func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] {
        guard limit > 0 else { return [] }
        let nowMicros = Timestamp.micros(now)
        return try await read("expiredLeases") { db in
            let statement = try db.cachedStatement(sql: """
                SELECT \(JobRow.columns) FROM surety_jobs INDEXED BY surety_jobs_leases
                WHERE state = 'running' AND lease_until <= ?
                ORDER BY lease_until, id LIMIT ?
                """)
            let rows = try Row.fetchCursor(statement, arguments: [nowMicros, limit])
            var expired: [ExpiredLease] = []
            while let row = try rows.next() {
                let decoded = try JobRow.decode(row)
                let job = decoded.record
                expired.append(ExpiredLease(
                    job: JobRow.claimed(decoded, now: now),
                    worker: job.attemptedBy ?? "unknown",
                    startedAt: job.attemptedAt ?? now
                ))
            }
            return expired
        }
    }
}
