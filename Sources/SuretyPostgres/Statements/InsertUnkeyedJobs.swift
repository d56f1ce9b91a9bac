import PostgresNIO
import Surety

/// Jobs without unique keys, inserted with the NOTIFY in one prepared statement.
///
/// Prepared once per connection (postgres-nio keeps it by ``name``), then only bound and
/// executed: PostgreSQL no longer parses and plans the 17-array `unnest` for every enqueue.
/// On the benchmark machine that was most of the server's time for a one-row enqueue (about
/// 0.4 ms of the backend's CPU per enqueue unprepared; pgbench runs the same statement in
/// 0.44 ms unprepared and 0.24 ms prepared). The INSERT is ``PostgresStore/insertQuery(_:)``'s
/// without the unique-key columns, in a CTE beside the `pg_notify` (a CTE that calls a volatile
/// function is evaluated once, and only when referenced); the tables resolve through the
/// connection's `search_path`, which is fixed for the store's pool.
struct InsertUnkeyedJobs: PostgresPreparedStatement {
    static let name = "surety_insert_unkeyed_v1"
    static let sql = """
        WITH inserted AS (
            INSERT INTO surety_jobs (type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at,
                                     unique_key, unique_scope, unique_slot, tags, correlation, partition_key, trace_context)
            SELECT u.type, u.queue, u.priority, u.tenant, u.state, u.payload, u.max_attempts, u.run_at, u.enqueued_at,
                   NULL, u.unique_scope, NULL, u.tags::jsonb, u.correlation::jsonb,
                   CASE WHEN u.has_partition THEN u.partition_key END, nullif(u.trace_context, '')
            FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[],
                        $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bool[], $15::text[])
                 WITH ORDINALITY AS u(type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at,
                                      unique_scope, tags, correlation, partition_key, has_partition, trace_context, ord)
            ORDER BY u.ord
            RETURNING id
        ), woken AS (SELECT pg_notify($16, $17) AS sent WHERE EXISTS (SELECT 1 FROM inserted))
        SELECT i.id FROM inserted AS i LEFT JOIN woken ON true
        """

    typealias Row = Int64

    let rows: PostgresStore.EnqueueRows
    let channel: String
    let payload: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 17)
        bindings.append(rows.type)
        bindings.append(rows.queue)
        bindings.append(rows.priority)
        bindings.append(rows.tenant)
        bindings.append(rows.state)
        bindings.append(rows.payload)
        bindings.append(rows.maxAttempts)
        bindings.append(rows.runAt)
        bindings.append(rows.enqueuedAt)
        bindings.append(rows.uniqueScope)
        bindings.append(rows.tags)
        bindings.append(rows.correlation)
        bindings.append(rows.partitionKey)
        bindings.append(rows.hasPartition)
        bindings.append(rows.traceContext)
        bindings.append(channel)
        bindings.append(payload)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }
}
