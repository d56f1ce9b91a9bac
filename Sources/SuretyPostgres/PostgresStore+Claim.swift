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
                transition: request.transition, leaseTimes: leaseTimes, queue: queues[0], limit: request.limit
            ))
        } else {
            // Confirmed committed before any job runs, like the one-queue claim (review item 8).
            let query = Self.claimQuery(queues: queues, limit: request.limit, request: request, leaseTimes: leaseTimes)
            claimed = try await pooled("claim") { [self] connection in
                try await connection.queryIfOpenConfirmed(query, logger: logger) { row, json in
                    try JobTransitionSQL.decodeClaimed(row, json: &json)
                }
            }
        }
        // RETURNING does not promise an order.
        return claimed.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    /// The claim statement for `queues`, at most `limit` jobs (``JobTransitionSQL/claim(_:)``,
    /// its values those of the core's claim transition; the pick's parameters: `$5` the queue or
    /// queues, `$6` the limit).
    ///
    /// The pick walks the partial index `surety_jobs_claimable (queue, priority, run_at, id)` in
    /// order and stops after `limit` rows, so its cost does not grow with the backlog. That needs
    /// `queue = value`: with `queue = ANY(array)` PostgreSQL cannot use the index's order and
    /// sorts every waiting row instead (measured at a 100,000 backlog: 105 ms per claim against
    /// 0.4 ms). Several queues take one ordered, limited pick per queue (`LATERAL`) and the best
    /// `limit` of those.
    static func claimQuery(queues: [String], limit: Int, request: ClaimRequest, leaseTimes: LeaseTimes) -> PostgresQuery {
        var bindings = JobTransitionSQL.claimBindings(request.transition, leaseTimes: leaseTimes, extra: 2)
        if queues.count == 1 {
            bindings.append(queues[0])
        } else {
            bindings.append(queues)
        }
        bindings.append(limit)
        return PostgresQuery(unsafeSQL: queues.count == 1 ? claimOneQueueSQL : claimQueuesSQL, binds: bindings)
    }

    private static let claimOneQueueSQL = JobTransitionSQL.claim("""
        FROM (SELECT id FROM surety_jobs WHERE \(WaitingStates.condition) AND queue = $5 AND run_at <= $1
              ORDER BY priority, run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) AS picked
        WHERE j.id = picked.id
        """)

    private static let claimQueuesSQL = JobTransitionSQL.claim("""
        FROM (SELECT p.id FROM unnest($5::text[]) AS q(name) CROSS JOIN LATERAL (
                  SELECT id, priority, run_at FROM surety_jobs WHERE \(WaitingStates.condition) AND queue = q.name AND run_at <= $1
                  ORDER BY priority, run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) AS p
              ORDER BY p.priority, p.run_at, p.id LIMIT $6) AS picked
        WHERE j.id = picked.id
        """)

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
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(limit)
        let query = PostgresQuery(unsafeSQL: JobTransitionSQL.expiredLeases(expiryCutoff: leaseTimes.expiryCutoffSQL(now: now)), binds: bindings)
        return try await self.query("expiredLeases", query) { rows in
            try await rows.collect { row in
                let decoded = try JobRow.decode(row)
                let job = decoded.record
                return ExpiredLease(job: ClaimedJob(record: job, leaseToken: decoded.leaseToken ?? 0, now: now), worker: job.attemptedBy ?? "unknown", startedAt: job.attemptedAt ?? now)
            }
        }
    }
}
