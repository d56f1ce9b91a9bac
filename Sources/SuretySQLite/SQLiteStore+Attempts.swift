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

    /// One statement: lease the most urgent due jobs and return them
    /// (``JobTransitionSQL/claim(_:)``, its values those of the core's claim transition).
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

    /// Parameters after the claim's three (``JobTransitionSQL/claimAssignments``): `?4` the
    /// limit, `?5`... the queues; `?1` is `now`. Bound by position, in that order.
    static func claimSQL(queueCount: Int) -> String {
        let claimable = WaitingStates.condition
        let priorities = ["priority IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)", "priority < 0", "priority > 9"]
        var branches: [String] = []
        for index in 0..<queueCount {
            for priority in priorities {
                branches.append("""
                    SELECT * FROM (
                        SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_claimable
                        WHERE \(claimable) AND queue = ?\(5 + index) AND \(priority) AND run_at <= ?1
                        ORDER BY priority, run_at, id LIMIT ?4)
                    """)
            }
        }
        return JobTransitionSQL.claim("""
            WHERE id IN (
                SELECT id FROM (\(branches.joined(separator: "\nUNION ALL\n")))
                ORDER BY priority, run_at, id LIMIT ?4)
            """)
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
            let statement = try db.cachedStatement(sql: JobTransitionSQL.expiredLeases)
            let rows = try Row.fetchCursor(statement, arguments: [nowMicros, limit])
            var expired: [ExpiredLease] = []
            while let row = try rows.next() {
                let decoded = try JobRow.decode(row)
                let job = decoded.record
                expired.append(ExpiredLease(
                    job: ClaimedJob(record: job, leaseToken: decoded.leaseToken ?? 0, now: now),
                    worker: job.attemptedBy ?? "unknown",
                    startedAt: job.attemptedAt ?? now
                ))
            }
            return expired
        }
    }
}
