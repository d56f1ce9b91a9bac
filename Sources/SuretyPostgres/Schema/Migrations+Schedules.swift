extension Migrations {
    /// Recurring schedules (see the SQLite store's migration of the same name).
    static let v2Schedules: [String] = [
        """
        CREATE TABLE surety_schedules (
            name           TEXT    PRIMARY KEY,
            expression     TEXT    NOT NULL,
            time_zone      TEXT    NOT NULL,
            job_type       TEXT    NOT NULL,
            queue          TEXT    NOT NULL,
            tenant         TEXT    NOT NULL,
            overlap        TEXT    NOT NULL,
            missed         TEXT    NOT NULL,
            paused         BOOLEAN NOT NULL DEFAULT false,
            changed_by     TEXT,
            change_reason  TEXT,
            changed_at     BIGINT,
            last_slot      BIGINT,
            last_job_id    BIGINT,
            created_at     BIGINT  NOT NULL,
            updated_at     BIGINT  NOT NULL
        )
        """,
    ]
}
