import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    // MARK: Claim

    /// One statement: `UPDATE ... FROM (SELECT id ... ORDER BY priority, run_at, id LIMIT n FOR
    /// UPDATE SKIP LOCKED)`, so concurrent claimers never wait for each other nor take the same
    /// job. Each row gets its own random positive lease token from `random()`.
    public func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
        var queues: [String] = []
        for queue in request.queues where !queues.contains(queue) { queues.append(queue) }
        guard request.limit > 0, !queues.isEmpty else { return [] }
        // Queues with claim limits take the flow-control path (PostgresStore+FlowControl.swift);
        // without any, this is one cached-dictionary check in memory.
        let limits = try await currentLimits(now: request.now)
        if !limits.isEmpty, queues.contains(where: { limits[$0]?.limitsClaims == true }) {
            return try await claimWithLimits(queues: queues, limits: limits, request: request)
        }
        let claimed: [ClaimedJob]
        if queues.count == 1 {
            claimed = try await execute("claim", ClaimFromQueue(
                now: Timestamp.micros(request.now), worker: request.worker,
                lease: leaseTimes.lease(now: request.now, until: request.leaseUntil), onDatabaseClock: leaseTimes.onDatabaseClock,
                queue: queues[0], limit: request.limit
            ))
        } else {
            // Confirmed committed before any job runs, like the one-queue claim (review item 8).
            let query = Self.claimQuery(queues: queues, limit: request.limit, request: request, leaseTimes: leaseTimes)
            claimed = try await pooled("claim") { [self] connection in
                try await connection.queryIfOpenConfirmed(query, logger: logger) { row, json in
                    try Self.decodeClaimed(row, json: &json)
                }
            }
        }
        // RETURNING does not promise an order.
        return claimed.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    /// The claim statement for `queues`, at most `limit` jobs.
    ///
    /// The pick walks the partial index `surety_jobs_claimable (queue, priority, run_at, id)` in
    /// order and stops after `limit` rows, so its cost does not grow with the backlog. That needs
    /// `queue = value`: with `queue = ANY(array)` PostgreSQL cannot use the index's order and
    /// sorts every waiting row instead (measured at a 100,000 backlog: 105 ms per claim against
    /// 0.4 ms). Several queues take one ordered, limited pick per queue (`LATERAL`) and the best
    /// `limit` of those.
    static func claimQuery(queues: [String], limit: Int, request: ClaimRequest, leaseTimes: LeaseTimes) -> PostgresQuery {
        let now = Timestamp.micros(request.now)
        let lease = leaseTimes.lease(now: request.now, until: request.leaseUntil)
        // Built piece by piece: the pick differs, and the binds are numbered in order.
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 1200, interpolationCount: 9)
        sql.appendLiteral("""
            UPDATE surety_jobs AS j
            SET state = 'running',
                attempt = j.attempt + 1,
            """)
        sql.appendLiteral(" attempted_at = ")
        sql.appendInterpolation(now)
        sql.appendLiteral(", attempted_by = ")
        sql.appendInterpolation(request.worker)
        sql.appendLiteral(", first_attempt_at = coalesce(j.first_attempt_at, ")
        sql.appendInterpolation(now)
        sql.appendLiteral("), lease_until = ")
        sql.appendInterpolation(lease)
        sql.appendLiteral(" + ")
        sql.appendInterpolation(leaseTimes.onDatabaseClock)
        sql.appendLiteral(" * \(LeaseTimes.serverNowSQL)")
        sql.appendLiteral(", lease_token = 1 + (random() * 9.0e18)::int8\nFROM (\n")
        if queues.count == 1 {
            sql.appendLiteral("SELECT id FROM surety_jobs WHERE state IN ('scheduled', 'available', 'retrying') AND queue = ")
            sql.appendInterpolation(queues[0])
            sql.appendLiteral(" AND run_at <= ")
            sql.appendInterpolation(now)
            sql.appendLiteral(" ORDER BY priority, run_at, id LIMIT ")
            sql.appendInterpolation(limit)
            sql.appendLiteral(" FOR UPDATE SKIP LOCKED")
        } else {
            sql.appendLiteral("SELECT p.id FROM unnest(")
            sql.appendInterpolation(queues)
            sql.appendLiteral("::text[]) AS q(name) CROSS JOIN LATERAL (SELECT id, priority, run_at FROM surety_jobs WHERE state IN ('scheduled', 'available', 'retrying') AND queue = q.name AND run_at <= ")
            sql.appendInterpolation(now)
            sql.appendLiteral(" ORDER BY priority, run_at, id LIMIT ")
            sql.appendInterpolation(limit)
            sql.appendLiteral(" FOR UPDATE SKIP LOCKED) AS p ORDER BY p.priority, p.run_at, p.id LIMIT ")
            sql.appendInterpolation(limit)
        }
        sql.appendLiteral("""

            ) AS picked
            WHERE j.id = picked.id
            RETURNING j.id, j.type, j.queue, j.priority, j.tenant, j.payload, j.attempt, j.max_attempts, j.lease_token,
                      j.lease_until, j.enqueued_at, j.run_at, j.first_attempt_at, j.tags::text, j.correlation::text, j.trace_context
            """)
        return PostgresQuery(stringInterpolation: sql)
    }

    static func decodeClaimed(_ row: PostgresRandomAccessRow, json: inout JSONColumns.DecodingCache) throws -> ClaimedJob {
        let id = JobID(try row[0].decode(Int64.self))
        return ClaimedJob(
            id: id,
            type: try row[1].decode(String.self),
            queue: try row[2].decode(String.self),
            priority: try row[3].decode(Int.self),
            tenant: TenantID(unchecked: try row[4].decode(String.self)),
            payload: try row[5].decode(String.self),
            attempt: try row[6].decode(Int.self),
            maxAttempts: try row[7].decode(Int.self),
            lease: Lease(jobID: id, token: try row[8].decode(Int64.self)),
            leaseUntil: Timestamp.date(try row[9].decode(Int64.self)),
            enqueuedAt: Timestamp.date(try row[10].decode(Int64.self)),
            runAt: Timestamp.date(try row[11].decode(Int64.self)),
            firstAttemptAt: Timestamp.date(try row[12].decode(Int64.self)),
            tags: json.tags(try row[13].decode(String?.self)),
            correlation: json.correlation(try row[14].decode(String?.self)),
            traceContext: JSONColumns.decodeCorrelation(try row[15].decode(String?.self))
        )
    }

    // MARK: Heartbeat

    /// One statement for the whole batch (`UPDATE ... FROM unnest(ids, tokens)`), each lease
    /// fenced on its token.
    public func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] {
        try await heartbeat(leases, now: Date(), until: until)
    }

    /// On the database clock the leases end `until - now` after the server's time.
    public func heartbeat(_ leases: [Lease], now: Date, until: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        let ids = leases.map(\.jobID.rawValue)
        let tokens = leases.map(\.token)
        let query: PostgresQuery = """
            UPDATE surety_jobs AS j SET lease_until = \(leaseTimes.lease(now: now, until: until)) + \(leaseTimes.onDatabaseClock) * \(unescaped: LeaseTimes.serverNowSQL)
            FROM unnest(\(ids)::int8[], \(tokens)::int8[]) AS h(id, token)
            WHERE j.id = h.id AND j.state = 'running' AND j.lease_token = h.token
            RETURNING j.id, j.lease_token
            """
        let held = try await self.query("heartbeat", query) { rows in
            try await rows.collect { row in Lease(jobID: JobID(try row[0].decode(Int64.self)), token: try row[1].decode(Int64.self)) }
        }
        let kept = Set(held)
        return leases.filter { !kept.contains($0) }
    }

    // MARK: Rescue

    /// On the database clock, the leases expired by the server's time (`now`, the rescuer's
    /// clock, only dates the rescue).
    public func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] {
        guard limit > 0 else { return [] }
        let query: PostgresQuery = """
            SELECT \(unescaped: JobRow.columns) FROM surety_jobs
            WHERE state = 'running' AND lease_until <= \(unescaped: leaseTimes.expiryCutoffSQL(now: now))
            ORDER BY lease_until, id LIMIT \(limit)
            """
        return try await self.query("expiredLeases", query) { rows in
            try await rows.collect { row in
                let decoded = try JobRow.decode(row)
                let job = decoded.record
                return ExpiredLease(job: JobRow.claimed(decoded, now: now), worker: job.attemptedBy ?? "unknown", startedAt: job.attemptedAt ?? now)
            }
        }
    }
}
