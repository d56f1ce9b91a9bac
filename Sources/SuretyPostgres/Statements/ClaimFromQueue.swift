import PostgresNIO
import Surety

/// The claim from one queue (the common case) as a prepared statement: the statement of
/// ``PostgresStore/claimQuery(queues:limit:request:leaseTimes:)`` for one queue (``JobTransitionSQL/claim(_:)``
/// with this pick), bound instead of parsed and planned on every claim.
///
/// A prepared statement may run on PostgreSQL's generic plan, made without the values. The pick
/// is therefore `id = ANY(ARRAY(subquery))`: with the join on a subquery that the one-off
/// statement uses, the generic plan (a `LIMIT $n` estimated at a tenth of the table) hashed a
/// sequential scan of every job (EXPLAIN at a 200,000 backlog); this form keeps the walk of
/// the claimable index and the primary-key lookups whatever the plan.
struct ClaimFromQueue: PostgresPreparedStatement {
    static let name = "surety_claim_one_queue_v3"
    static let sql = JobTransitionSQL.claim("""
        WHERE j.id = ANY (ARRAY(
            SELECT id FROM surety_jobs
            WHERE \(WaitingStates.condition) AND queue = $5 AND run_at <= $1
            ORDER BY priority, run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED))
        """)

    typealias Row = ClaimedJob

    /// The claim's transition (its values are `$1`...`$4`).
    let transition: JobTransition
    let leaseTimes: LeaseTimes
    let queue: String
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = JobTransitionSQL.claimBindings(transition, leaseTimes: leaseTimes, extra: 2)
        bindings.append(queue)
        bindings.append(limit)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> ClaimedJob {
        var json = JSONColumns.DecodingCache()
        return try JobTransitionSQL.decodeClaimed(row.makeRandomAccess(), json: &json)
    }
}
