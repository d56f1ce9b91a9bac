extension Migrations {
    /// Recurring schedules: one row per schedule name, with its definition (as registered by the
    /// application's `Scheduler`), pause state and the last slot decided.
    static let v2Schedules = """
        CREATE TABLE surety_schedules (
            name           TEXT    PRIMARY KEY,
            expression     TEXT    NOT NULL,
            time_zone      TEXT    NOT NULL,
            job_type       TEXT    NOT NULL,
            queue          TEXT    NOT NULL,
            tenant         TEXT    NOT NULL,
            overlap        TEXT    NOT NULL,
            missed         TEXT    NOT NULL,
            paused         INTEGER NOT NULL DEFAULT 0,
            changed_by     TEXT,
            change_reason  TEXT,
            changed_at     INTEGER,
            last_slot      INTEGER,
            last_job_id    INTEGER,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL
        );
        """
}
