extension Migrations {
    /// "v3_waiting_conditions": the two partial indexes over waiting jobs, rebuilt with their
    /// WHERE written as ORs of equalities (``WaitingStates``) instead of `state IN (...)`, and
    /// with `partition_key IS NOT NULL` first in `surety_jobs_partitioned`, so that the jobs
    /// without a key (all of them in most queues) are ruled out by one test.
    ///
    /// Same columns, same rows, same queries; only the cost of keeping them changes. SQLite
    /// evaluates a partial index's WHERE on every insert and on every update that sets `state`,
    /// and the `IN` form cost more than the rest of a claim and a finish together in a replica of
    /// the drain (`Benchmarks/sqlite_replica.py`): 23.4 µs of SQLite time per job before, 14.5–15.1 after.
    static let v3WaitingConditions = """
        DROP INDEX surety_jobs_claimable;
        CREATE INDEX surety_jobs_claimable ON surety_jobs (queue, priority, run_at, id)
            WHERE (state = 'scheduled' OR state = 'available' OR state = 'retrying');

        DROP INDEX surety_jobs_partitioned;
        CREATE INDEX surety_jobs_partitioned ON surety_jobs (queue, partition_key, id, run_at)
            WHERE partition_key IS NOT NULL AND (state = 'scheduled' OR state = 'available' OR state = 'retrying');
        """
}
