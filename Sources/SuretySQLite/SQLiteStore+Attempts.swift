import Foundation
import GRDB
import Surety

extension SQLiteStore {
    // MARK: Claim

    public func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
        var queues: [String] = []
        for queue in request.queues where !queues.contains(queue) { queues.append(queue) }
        guard request.limit > 0, !queues.isEmpty else { return [] }
        var arguments: [String: (any DatabaseValueConvertible)?] = [
            "now": Timestamp.micros(request.now),
            "worker": request.worker,
            "leaseUntil": Timestamp.micros(request.leaseUntil),
            "limit": request.limit,
        ]
        for (index, queue) in queues.enumerated() { arguments["q\(index)"] = queue }
        let statementArguments = StatementArguments(arguments)
        let sql = Self.cachedClaimSQL(queueCount: queues.count)
        let claimQueues = queues
        let claimed = try await write("claim") { db in
            // Queues with claim limits take the flow-control path (SQLiteStore+FlowControl.swift);
            // without any, this is one cached-dictionary check in memory.
            let limits = try self.currentLimits(db, now: request.now)
            if !limits.isEmpty, claimQueues.contains(where: { limits[$0]?.limitsClaims == true }) {
                return try self.claimWithLimits(db, queues: claimQueues, limits: limits, request: request)
            }
            let statement = try db.cachedStatement(sql: sql)
            let rows = try Row.fetchCursor(statement, arguments: statementArguments)
            var claimed: [ClaimedJob] = []
            claimed.reserveCapacity(request.limit)
            var json = JSONColumns.DecodingCache()
            while let row = try rows.next() { claimed.append(try Self.decodeClaimed(row, json: &json)) }
            return claimed
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
        let claimable = "state IN ('scheduled', 'available', 'retrying')"
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

    static func decodeClaimed(_ row: Row, json: inout JSONColumns.DecodingCache) throws -> ClaimedJob {
        let id = JobID(try row.decode(Int64.self, atIndex: 0))
        return ClaimedJob(
            id: id,
            type: try row.decode(String.self, atIndex: 1),
            queue: try row.decode(String.self, atIndex: 2),
            priority: try row.decode(Int.self, atIndex: 3),
            tenant: TenantID(unchecked: try row.decode(String.self, atIndex: 4)),
            payload: try row.decode(String.self, atIndex: 5),
            attempt: try row.decode(Int.self, atIndex: 6),
            maxAttempts: try row.decode(Int.self, atIndex: 7),
            lease: Lease(jobID: id, token: try row.decode(Int64.self, atIndex: 8)),
            leaseUntil: Timestamp.date(try row.decode(Int64.self, atIndex: 9)),
            enqueuedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 10)),
            runAt: Timestamp.date(try row.decode(Int64.self, atIndex: 11)),
            firstAttemptAt: Timestamp.date(try row.decode(Int64.self, atIndex: 12)),
            tags: json.tags(try row.decode(String?.self, atIndex: 13)),
            correlation: json.correlation(try row.decode(String?.self, atIndex: 14)),
            traceContext: JSONColumns.decodeCorrelation(try row.decode(String?.self, atIndex: 15))
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
