import PostgresNIO
import Surety

/// The first record of an effect under a held lease, as one prepared statement: the job row is
/// locked `FOR SHARE` and the `started` row inserted in the same statement, so a concurrent finish
/// cannot end the attempt in between. Returns how many job rows were held (0 or 1) and how many
/// effect rows were inserted (0 or 1); anything but (1, 1) sends the caller to the transaction that
/// tells the cases apart (``PostgresStore/beginEffect(_:lease:attempt:worker:now:)``).
///
/// As in ``FinishCompletions``, the state is bound (`$9` is `'running'`) so that a generic plan
/// looks the job up by primary key, never through the partial index of running jobs.
struct BeginFirstEffect: PostgresPreparedStatement {
    static let name = "surety_begin_first_effect_v1"
    static let sql = """
        WITH held AS (
            SELECT id FROM surety_jobs WHERE id = $1 AND state = $9 AND lease_token = $2 FOR SHARE
        ), inserted AS (
            INSERT INTO surety_effects (tenant, job_id, name, key, state, attempt, worker, started_at)
            SELECT $3, $1, $4, $5, 'started', $6, $7, $8 FROM held
            ON CONFLICT DO NOTHING
            RETURNING id
        )
        SELECT (SELECT count(*) FROM held)::int8, (SELECT count(*) FROM inserted)::int8
        """

    typealias Row = (held: Int64, inserted: Int64)

    let key: EffectKey
    let token: Int64
    let attempt: Int
    let worker: String
    let now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(key.jobID.rawValue)
        bindings.append(token)
        bindings.append(key.tenant.rawValue)
        bindings.append(key.name)
        bindings.append(key.key)
        bindings.append(attempt)
        bindings.append(worker)
        bindings.append(now)
        bindings.append(JobState.running.rawValue)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (held: Int64, inserted: Int64) {
        let (held, inserted) = try row.decode((Int64, Int64).self)
        return (held, inserted)
    }
}
