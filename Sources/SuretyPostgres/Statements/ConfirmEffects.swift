import PostgresNIO
import Surety

/// Effects' confirmations with their results, for a group of concurrent calls, as one prepared
/// statement. A confirmation without a `started` record (one recorded by a reconcile) inserts the
/// row; a confirmed row is left as it is. Two confirmations of the same effect in one group make
/// PostgreSQL refuse the statement (a row affected twice), and the group commit then writes each
/// call on its own.
struct ConfirmEffects: PostgresPreparedStatement {
    static let name = "surety_confirm_effects_v1"
    static let sql = """
        INSERT INTO surety_effects (tenant, job_id, name, key, state, result, attempt, worker, started_at, confirmed_at)
        SELECT c.tenant, c.job_id, c.name, c.key, 'confirmed', c.result, 0, '', c.at, c.at
        FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[])
             WITH ORDINALITY AS c(tenant, job_id, name, key, result, at, ord)
        ORDER BY c.ord
        ON CONFLICT (job_id, name, key, tenant) DO UPDATE
        SET state = 'confirmed', result = excluded.result, confirmed_at = excluded.confirmed_at
        WHERE surety_effects.state <> 'confirmed'
        """

    /// One call's confirmation.
    struct Item: Sendable {
        var key: EffectKey
        var result: String
        var now: Int64
    }

    typealias Row = ()

    let items: [Item]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(items.map(\.key.tenant.rawValue))
        bindings.append(items.map(\.key.jobID.rawValue))
        bindings.append(items.map(\.key.name))
        bindings.append(items.map(\.key.key))
        bindings.append(items.map(\.result))
        bindings.append(items.map(\.now))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}
