import Surety

/// The SQL condition "the job waits to be claimed": the states of ``Surety/JobState/claimable``
/// (scheduled, available, retrying). PostgreSQL spells the same list in
/// Sources/SuretyPostgres/SQL/WaitingStates.swift.
///
/// It is written as equalities joined by OR, not as `state IN (...)`, because it is the WHERE of
/// the partial indexes `surety_jobs_claimable` and `surety_jobs_partitioned`, and SQLite
/// evaluates an index's WHERE for the old and the new row of every insert and of every update
/// that sets `state` (each claim and finish). An `IN` list costs there much more than three
/// comparisons: in a replica of the drain (`Benchmarks/sqlite_replica.py`: claims of 128 and their
/// finishes) the SQL took 23.4 µs of SQLite time per job with the `IN` form, 14.5–15.1 with ORs.
///
/// A query that reads one of those indexes must say the condition in exactly this form: SQLite
/// uses a partial index only when the query's WHERE contains the index's WHERE terms. The text is
/// therefore `(state = 'scheduled' OR state = 'available' OR state = 'retrying')`, the order of
/// `JobState.claimable`, as the migrations wrote the indexes.
enum WaitingStates {
    static let condition = "(" + JobState.claimable.map { "state = '\($0.rawValue)'" }.joined(separator: " OR ") + ")"
}
