import PostgresNIO
import Surety

/// An effect's confirmation with its result, as one prepared statement. A confirmation without a
/// `started` record (one recorded by a reconcile) inserts the row; a confirmed row is left as it is.
struct ConfirmEffect: PostgresPreparedStatement {
    static let name = "surety_confirm_effect_v1"
    static let sql = """
        INSERT INTO surety_effects (tenant, job_id, name, key, state, result, attempt, worker, started_at, confirmed_at)
        VALUES ($1, $2, $3, $4, 'confirmed', $5, 0, '', $6, $6)
        ON CONFLICT (job_id, name, key, tenant) DO UPDATE
        SET state = 'confirmed', result = excluded.result, confirmed_at = excluded.confirmed_at
        WHERE surety_effects.state <> 'confirmed'
        """

    typealias Row = ()

    let key: EffectKey
    let result: String
    let now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(key.tenant.rawValue)
        bindings.append(key.jobID.rawValue)
        bindings.append(key.name)
        bindings.append(key.key)
        bindings.append(result)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}
