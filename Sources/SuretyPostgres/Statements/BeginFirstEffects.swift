import PostgresNIO
import Surety

/// First records of effects under held leases, for a group of concurrent calls, as one prepared
/// statement: each job row is locked `FOR SHARE` and the `started` rows are inserted in the same
/// statement, so a concurrent finish cannot end an attempt in between. For each item, in order,
/// it returns whether the job's lease was held and whether the row was inserted; an item without
/// both goes to the transaction that tells the cases apart
/// (``PostgresStore/beginEffect(_:lease:attempt:worker:now:)``).
///
/// As in ``FinishCompletions``, the state is bound (`$9` is `'running'`) so that a generic plan
/// looks each job up by primary key, never through the partial index of running jobs.
struct BeginFirstEffects: PostgresPreparedStatement {
    static let name = "surety_begin_first_effects_v1"
    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::int8[])
                WITH ORDINALITY AS i(job_id, token, tenant, name, key, attempt, worker, started_at, ord)
        ), held AS (
            SELECT j.id, j.lease_token FROM input AS i JOIN surety_jobs AS j ON j.id = i.job_id AND j.lease_token = i.token
            WHERE j.state = $9
            FOR SHARE OF j
        ), inserted AS (
            INSERT INTO surety_effects (tenant, job_id, name, key, state, attempt, worker, started_at)
            SELECT i.tenant, i.job_id, i.name, i.key, 'started', i.attempt, i.worker, i.started_at
            FROM input AS i WHERE EXISTS (SELECT 1 FROM held AS h WHERE h.id = i.job_id AND h.lease_token = i.token)
            ORDER BY i.ord
            ON CONFLICT DO NOTHING
            RETURNING job_id, name, key, tenant
        )
        SELECT EXISTS (SELECT 1 FROM held AS h WHERE h.id = i.job_id AND h.lease_token = i.token),
               EXISTS (SELECT 1 FROM inserted AS n WHERE n.job_id = i.job_id AND n.name = i.name AND n.key = i.key AND n.tenant = i.tenant)
        FROM input AS i
        ORDER BY i.ord
        """

    /// One call's request.
    struct Item: Sendable {
        var key: EffectKey
        var token: Int64
        var attempt: Int
        var worker: String
        var now: Int64
    }

    typealias Row = (held: Bool, inserted: Bool)

    let items: [Item]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(items.map(\.key.jobID.rawValue))
        bindings.append(items.map(\.token))
        bindings.append(items.map(\.key.tenant.rawValue))
        bindings.append(items.map(\.key.name))
        bindings.append(items.map(\.key.key))
        bindings.append(items.map(\.attempt))
        bindings.append(items.map(\.worker))
        bindings.append(items.map(\.now))
        bindings.append(JobState.running.rawValue)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (held: Bool, inserted: Bool) {
        let (held, inserted) = try row.decode((Bool, Bool).self)
        return (held, inserted)
    }
}
