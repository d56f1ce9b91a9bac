import PostgresNIO
import Surety

/// The claim from one queue (the common case) as a prepared statement: the statement of
/// ``PostgresStore/claimQuery(queues:limit:request:leaseTimes:)`` for one queue, bound instead of parsed and
/// planned on every claim.
///
/// A prepared statement may run on PostgreSQL's generic plan, made without the values. The pick
/// is therefore `id = ANY(ARRAY(subquery))`: with the join on a subquery that the one-off
/// statement uses, the generic plan (a `LIMIT $n` estimated at a tenth of the table) hashed a
/// sequential scan of every job (EXPLAIN at a 200,000 backlog); this form keeps the walk of
/// the claimable index and the primary-key lookups whatever the plan.
struct ClaimFromQueue: PostgresPreparedStatement {
    static let name = "surety_claim_one_queue_v2"
    static let sql = """
        UPDATE surety_jobs AS j
        SET state = 'running', attempt = j.attempt + 1, attempted_at = $1, attempted_by = $2,
            first_attempt_at = coalesce(j.first_attempt_at, $1),
            lease_until = $3 + $6 * (extract(epoch from clock_timestamp()) * 1000000)::int8,
            lease_token = 1 + (random() * 9.0e18)::int8
        WHERE j.id = ANY (ARRAY(
            SELECT id FROM surety_jobs
            WHERE state IN ('scheduled', 'available', 'retrying') AND queue = $4 AND run_at <= $1
            ORDER BY priority, run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED))
        RETURNING j.id, j.type, j.queue, j.priority, j.tenant, j.payload, j.attempt, j.max_attempts, j.lease_token,
                  j.lease_until, j.enqueued_at, j.run_at, j.first_attempt_at, j.tags::text, j.correlation::text, j.trace_context
        """

    typealias Row = ClaimedJob

    let now: Int64
    let worker: String
    /// The lease's end, or its duration on the database clock (``LeaseTimes``).
    let lease: Int64
    /// 1 on the database clock, else 0.
    let onDatabaseClock: Int64
    let queue: String
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(now)
        bindings.append(worker)
        bindings.append(lease)
        bindings.append(queue)
        bindings.append(limit)
        bindings.append(onDatabaseClock)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> ClaimedJob {
        var json = JSONColumns.DecodingCache()
        return try PostgresStore.decodeClaimed(row.makeRandomAccess(), json: &json)
    }
}
