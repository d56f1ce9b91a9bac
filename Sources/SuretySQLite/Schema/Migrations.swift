import GRDB

/// The store's schema, as versioned GRDB migrations. A migration, once released, never changes:
/// a new version appends a new one ("v2", ...). docs/schema.md documents every table, column and
/// index, because operators query them.
enum Migrations {
    /// The registered migrations, oldest first.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
        }
        migrator.registerMigration("v2_alerts") { db in
            try db.execute(sql: v2Alerts)
        }
        migrator.registerMigration("v2_flow_limits") { db in
            try db.execute(sql: v2FlowLimits)
        }
        migrator.registerMigration("v2_trace_context") { db in
            try db.execute(sql: v2TraceContext)
        }
        migrator.registerMigration("v2_cancel_requests") { db in
            try db.execute(sql: v2CancelRequests)
        }
        migrator.registerMigration("v2_schedules") { db in
            try db.execute(sql: v2Schedules)
        }
        migrator.registerMigration("v2_workflows") { db in
            try db.execute(sql: v2Workflows)
        }
        migrator.registerMigration("v3_waiting_conditions") { db in
            try db.execute(sql: v3WaitingConditions)
        }
        return migrator
    }

    /// The first schema: jobs, attempt history, operator audit, effect ledger.
    ///
    /// Times are INTEGER microseconds since 1970-01-01 UTC. States and other enumerations are the
    /// raw values of the core's Swift enums (`JobState`, `AttemptOutcome`, `DeadReason`,
    /// `ErrorClass`, `UniqueScope`), stored as TEXT so operators can read them.
    static let v1 = """
        CREATE TABLE surety_jobs (
            id                 INTEGER PRIMARY KEY AUTOINCREMENT,
            type               TEXT    NOT NULL,
            queue              TEXT    NOT NULL,
            priority           INTEGER NOT NULL,
            tenant             TEXT    NOT NULL,
            state              TEXT    NOT NULL,
            payload            TEXT    NOT NULL,
            attempt            INTEGER NOT NULL DEFAULT 0,
            max_attempts       INTEGER NOT NULL,
            run_at             INTEGER NOT NULL,
            enqueued_at        INTEGER NOT NULL,
            first_attempt_at   INTEGER,
            attempted_at       INTEGER,
            attempted_by       TEXT,
            lease_token        INTEGER,
            lease_until        INTEGER,
            finished_at        INTEGER,
            last_error_type    TEXT,
            last_error_message TEXT,
            last_error_class   TEXT,
            dead_reason        TEXT,
            unique_key         TEXT,
            unique_scope       TEXT    NOT NULL DEFAULT 'while_active',
            unique_slot        TEXT,
            tags               TEXT    NOT NULL DEFAULT '[]',
            correlation        TEXT    NOT NULL DEFAULT '{}',
            note               TEXT
        );

        -- Claims: the due jobs of one queue, most urgent first.
        CREATE INDEX surety_jobs_claimable ON surety_jobs (queue, priority, run_at, id)
            WHERE state IN ('scheduled', 'available', 'retrying');

        -- The rescuer: running jobs by lease expiry.
        CREATE INDEX surety_jobs_leases ON surety_jobs (lease_until, id)
            WHERE state = 'running';

        -- Unique keys: at most one job per tenant holds a key (unique_slot is the key while the
        -- job holds it, NULL otherwise).
        CREATE UNIQUE INDEX surety_jobs_unique ON surety_jobs (tenant, unique_slot)
            WHERE unique_slot IS NOT NULL;

        -- The dead-letter inbox, newest first. Only dead jobs are in it, so it costs nothing on
        -- the hot path (an index on every state would be updated by every claim and finish).
        CREATE INDEX surety_jobs_dead ON surety_jobs (state, id)
            WHERE state = 'dead';

        CREATE TABLE surety_attempts (
            id            INTEGER PRIMARY KEY,
            job_id        INTEGER NOT NULL REFERENCES surety_jobs (id) ON DELETE CASCADE,
            attempt       INTEGER NOT NULL,
            worker        TEXT    NOT NULL,
            started_at    INTEGER NOT NULL,
            ended_at      INTEGER NOT NULL,
            outcome       TEXT    NOT NULL,
            error_type    TEXT,
            error_message TEXT,
            error_class   TEXT
        );
        CREATE INDEX surety_attempts_job ON surety_attempts (job_id, id);

        CREATE TABLE surety_audit (
            id      INTEGER PRIMARY KEY,
            job_id  INTEGER NOT NULL,
            action  TEXT    NOT NULL,
            actor   TEXT    NOT NULL,
            reason  TEXT    NOT NULL,
            at      INTEGER NOT NULL
        );
        CREATE INDEX surety_audit_job ON surety_audit (job_id, id);

        -- The effect ledger: one row per side effect of a job, recorded before it runs (started)
        -- and after (confirmed, with its result).
        CREATE TABLE surety_effects (
            id           INTEGER PRIMARY KEY,
            tenant       TEXT    NOT NULL,
            job_id       INTEGER NOT NULL,
            name         TEXT    NOT NULL,
            key          TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            result       TEXT,
            attempt      INTEGER NOT NULL,
            worker       TEXT    NOT NULL,
            started_at   INTEGER NOT NULL,
            confirmed_at INTEGER
        );
        CREATE UNIQUE INDEX surety_effects_key ON surety_effects (job_id, name, key, tenant);
        """

    /// Flow control (docs/flow-control.md): the partition key, its two partial indexes (both
    /// skip jobs without a key, so queues that do not use keys pay nothing for them), queue
    /// limits, and rate-limit buckets.
    static let v2FlowLimits = """
        ALTER TABLE surety_jobs ADD COLUMN partition_key TEXT;

        -- Claims from queues with per-key limits or fairness: the waiting jobs of each key in
        -- enqueue order (run_at included so "due" is decided from the index).
        CREATE INDEX surety_jobs_partitioned ON surety_jobs (queue, partition_key, id, run_at)
            WHERE state IN ('scheduled', 'available', 'retrying') AND partition_key IS NOT NULL;

        -- Per-key concurrency: running jobs by key.
        CREATE INDEX surety_jobs_running_keys ON surety_jobs (queue, partition_key)
            WHERE state = 'running' AND partition_key IS NOT NULL;

        CREATE TABLE surety_queue_limits (
            queue               TEXT    PRIMARY KEY,
            concurrency         INTEGER,
            concurrency_per_key INTEGER,
            rate_count          INTEGER,
            rate_period_us      INTEGER,
            rate_burst          INTEGER,
            key_rate_count      INTEGER,
            key_rate_period_us  INTEGER,
            key_rate_burst      INTEGER,
            fair                INTEGER NOT NULL DEFAULT 0,
            max_backlog         INTEGER,
            overflow            TEXT    NOT NULL DEFAULT 'reject',
            key_cursor          TEXT
        );

        -- Token buckets: bucket '' is the queue's, any other the partition key's.
        CREATE TABLE surety_rate_buckets (
            queue       TEXT    NOT NULL,
            bucket      TEXT    NOT NULL,
            tokens      INTEGER NOT NULL,
            refilled_at INTEGER NOT NULL,
            PRIMARY KEY (queue, bucket)
        );
        """

    /// The trace context captured at enqueue (a JSON object of strings, the tracer's carrier;
    /// NULL when no trace was active), so every attempt's span can link to the enqueuing trace.
    static let v2TraceContext = """
        ALTER TABLE surety_jobs ADD COLUMN trace_context TEXT;
        """
}
