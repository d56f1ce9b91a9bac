extension Migrations {
    /// "v2_alerts": the alert monitor's shared state, and the indexes its summaries read (the
    /// same as SQLite's; see docs/schema.md).
    static let v2Alerts: [String] = [
        """
        CREATE TABLE surety_alerts (
            key        TEXT    PRIMARY KEY,
            status     TEXT    NOT NULL,
            version    INTEGER NOT NULL,
            updated_at BIGINT  NOT NULL,
            state      TEXT    NOT NULL
        )
        """,
        "CREATE INDEX surety_attempts_ended ON surety_attempts (ended_at)",
        """
        CREATE INDEX surety_jobs_finished ON surety_jobs (state, finished_at)
            WHERE finished_at IS NOT NULL
        """,
    ]
}
