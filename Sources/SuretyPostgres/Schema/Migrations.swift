/// The store's schema, as versioned migrations recorded in `surety_migrations`. A migration, once
/// released, never changes: a new version appends a new one. docs/schema.md ("PostgreSQL")
/// documents every table, column and index, because operators query them.
///
/// The statements use unqualified names: every connection of the store's pool has its
/// `search_path` set to the store's schema.
enum Migrations {
    struct Migration: Sendable {
        var identifier: String
        var statements: [String]
    }

    /// The registered migrations, oldest first.
    static let all: [Migration] = [
        Migration(identifier: "v1", statements: v1),
        Migration(identifier: "v2_alerts", statements: v2Alerts),
        Migration(identifier: "v2_flow_limits", statements: v2FlowLimits),
        Migration(identifier: "v2_trace_context", statements: v2TraceContext),
        Migration(identifier: "v2_cancel_requests", statements: v2CancelRequests),
        Migration(identifier: "v2_schedules", statements: v2Schedules),
        Migration(identifier: "v2_workflows", statements: v2Workflows),
    ]

    /// Serialises migrations across processes: `pg_advisory_xact_lock(lockKey)` (an arbitrary
    /// constant, "surety" in ASCII) is taken inside the migration transaction.
    static let lockKey: Int64 = 0x7375_7265_7479

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS surety_migrations (
            identifier TEXT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """

    /// The first schema: jobs, attempt history, operator audit, effect ledger.
    ///
    /// Times are BIGINT microseconds since 1970-01-01 UTC (as in the SQLite store). States and
    /// other enumerations are the raw values of the core's Swift enums, stored as TEXT so
    /// operators can read them. Tags and correlation IDs are jsonb.
    static let v1: [String] = [
        """
        CREATE TABLE surety_jobs (
            id                 BIGSERIAL PRIMARY KEY,
            type               TEXT    NOT NULL,
            queue              TEXT    NOT NULL,
            priority           INTEGER NOT NULL,
            tenant             TEXT    NOT NULL,
            state              TEXT    NOT NULL,
            payload            TEXT    NOT NULL,
            attempt            INTEGER NOT NULL DEFAULT 0,
            max_attempts       INTEGER NOT NULL,
            run_at             BIGINT  NOT NULL,
            enqueued_at        BIGINT  NOT NULL,
            first_attempt_at   BIGINT,
            attempted_at       BIGINT,
            attempted_by       TEXT,
            lease_token        BIGINT,
            lease_until        BIGINT,
            finished_at        BIGINT,
            last_error_type    TEXT,
            last_error_message TEXT,
            last_error_class   TEXT,
            dead_reason        TEXT,
            unique_key         TEXT,
            unique_scope       TEXT    NOT NULL DEFAULT 'while_active',
            unique_slot        TEXT,
            tags               JSONB   NOT NULL DEFAULT '[]',
            correlation        JSONB   NOT NULL DEFAULT '{}',
            note               TEXT
        )
        """,
        """
        CREATE INDEX surety_jobs_claimable ON surety_jobs (queue, priority, run_at, id)
            WHERE state IN ('scheduled', 'available', 'retrying')
        """,
        """
        CREATE INDEX surety_jobs_leases ON surety_jobs (lease_until, id)
            WHERE state = 'running'
        """,
        """
        CREATE UNIQUE INDEX surety_jobs_unique ON surety_jobs (tenant, unique_slot)
            WHERE unique_slot IS NOT NULL
        """,
        """
        CREATE INDEX surety_jobs_dead ON surety_jobs (id)
            WHERE state = 'dead'
        """,
        """
        CREATE TABLE surety_attempts (
            id            BIGSERIAL PRIMARY KEY,
            job_id        BIGINT  NOT NULL REFERENCES surety_jobs (id) ON DELETE CASCADE,
            attempt       INTEGER NOT NULL,
            worker        TEXT    NOT NULL,
            started_at    BIGINT  NOT NULL,
            ended_at      BIGINT  NOT NULL,
            outcome       TEXT    NOT NULL,
            error_type    TEXT,
            error_message TEXT,
            error_class   TEXT
        )
        """,
        "CREATE INDEX surety_attempts_job ON surety_attempts (job_id, id)",
        """
        CREATE TABLE surety_audit (
            id      BIGSERIAL PRIMARY KEY,
            job_id  BIGINT NOT NULL,
            action  TEXT   NOT NULL,
            actor   TEXT   NOT NULL,
            reason  TEXT   NOT NULL,
            at      BIGINT NOT NULL
        )
        """,
        "CREATE INDEX surety_audit_job ON surety_audit (job_id, id)",
        """
        CREATE TABLE surety_effects (
            id           BIGSERIAL PRIMARY KEY,
            tenant       TEXT    NOT NULL,
            job_id       BIGINT  NOT NULL,
            name         TEXT    NOT NULL,
            key          TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            result       TEXT,
            attempt      INTEGER NOT NULL,
            worker       TEXT    NOT NULL,
            started_at   BIGINT  NOT NULL,
            confirmed_at BIGINT
        )
        """,
        "CREATE UNIQUE INDEX surety_effects_key ON surety_effects (job_id, name, key, tenant)",
    ]

    /// Flow control (docs/flow-control.md): the partition key, its two partial indexes (both
    /// skip jobs without a key, so queues that do not use keys pay nothing for them), queue
    /// limits, and rate-limit buckets.
    static let v2FlowLimits: [String] = [
        "ALTER TABLE surety_jobs ADD COLUMN partition_key TEXT",
        """
        CREATE INDEX surety_jobs_partitioned ON surety_jobs (queue, partition_key, id, run_at)
            WHERE state IN ('scheduled', 'available', 'retrying') AND partition_key IS NOT NULL
        """,
        """
        CREATE INDEX surety_jobs_running_keys ON surety_jobs (queue, partition_key)
            WHERE state = 'running' AND partition_key IS NOT NULL
        """,
        """
        CREATE TABLE surety_queue_limits (
            queue               TEXT    PRIMARY KEY,
            concurrency         INTEGER,
            concurrency_per_key INTEGER,
            rate_count          INTEGER,
            rate_period_us      BIGINT,
            rate_burst          INTEGER,
            key_rate_count      INTEGER,
            key_rate_period_us  BIGINT,
            key_rate_burst      INTEGER,
            fair                BOOLEAN NOT NULL DEFAULT false,
            max_backlog         INTEGER,
            overflow            TEXT    NOT NULL DEFAULT 'reject',
            key_cursor          TEXT
        )
        """,
        """
        CREATE TABLE surety_rate_buckets (
            queue       TEXT   NOT NULL,
            bucket      TEXT   NOT NULL,
            tokens      BIGINT NOT NULL,
            refilled_at BIGINT NOT NULL,
            PRIMARY KEY (queue, bucket)
        )
        """,
    ]

    /// The trace context captured at enqueue (a JSON object of strings, the tracer's carrier;
    /// NULL when no trace was active), so every attempt's span can link to the enqueuing trace.
    static let v2TraceContext: [String] = [
        "ALTER TABLE surety_jobs ADD COLUMN trace_context TEXT",
    ]
}
