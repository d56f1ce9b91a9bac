import PostgresNIO
import Surety

/// Plain successes (completed, no error, fenced on the lease token alone) recorded by one
/// prepared statement, without `BEGIN` and `COMMIT`: the worker's common finish.
///
/// The general path (``PostgresStore/applyFinishes(_:_:notify:logger:)``) is a transaction of
/// five round trips and three statements parsed and planned every time. For plain successes it
/// comes down to this one statement, which does the same:
/// - the row change of ``FinishTransition`` for a success (the same as the general UPDATE);
/// - the removal of cancel requests left for the finished jobs (a completed job is never
///   cancelled; the request is only dropped);
/// - no history row and no NOTIFY (a success writes neither).
///
/// Advancing workflows needs the general path's transaction. So the statement first checks
/// whether any of the jobs is an active workflow step; if one is, it changes nothing and
/// returns the marker row `-1`, and the caller takes the general path.
struct FinishCompletions: PostgresPreparedStatement {
    static let name = "surety_finish_completions_v1"
    /// The plan must hold as a generic plan (made without the values after a few runs, with
    /// `unnest` estimated at 10 rows): it walks the batch and looks each job up by primary key.
    /// The state is bound (`$4` is `'running'`) rather than written, so the planner cannot pick
    /// the partial index of running jobs, which statistics taken with no job running make look
    /// empty (with it, and with `id = ANY($1)`, EXPLAIN showed the batch rescanned for every
    /// job: 20 ms per 256 finishes instead of 3).
    static let sql = """
        WITH blocked AS (
            SELECT EXISTS (SELECT 1 FROM surety_workflow_steps WHERE job_id = ANY($1::int8[]) AND state = 'active') AS b
        ), updated AS (
            UPDATE surety_jobs AS j SET
                state = 'completed',
                finished_at = f.finished_at,
                lease_until = NULL,
                lease_token = NULL,
                unique_slot = CASE WHEN j.unique_scope = 'forever' THEN j.unique_key END
            FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS f(id, token, finished_at)
            WHERE NOT (SELECT b FROM blocked) AND j.id = f.id AND j.state = $4 AND j.lease_token = f.token
            RETURNING j.id
        ), dropped AS (
            DELETE FROM surety_cancel_requests WHERE job_id IN (SELECT id FROM updated)
        )
        SELECT id FROM updated
        UNION ALL
        SELECT -1 FROM blocked WHERE b
        """

    typealias Row = Int64

    /// Returned instead of ids when a job is an active workflow step (nothing was changed).
    static let blockedMarker: Int64 = -1

    let ids: [Int64]
    let tokens: [Int64]
    let finishedAt: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(ids)
        bindings.append(tokens)
        bindings.append(finishedAt)
        bindings.append(JobState.running.rawValue)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }
}
