extension Migrations {
    /// "v2_alerts": the alert monitor's shared state, and the indexes its summaries read.
    ///
    /// - `surety_alerts`: one row per alert (rule and subject), written with compare-and-set on
    ///   `version`; `state` is the monitor's JSON (docs/alerts.md).
    /// - `surety_attempts_ended`: failed attempts in a time window (the history table is written
    ///   only by failures, so it costs nothing on the success path).
    /// - `surety_jobs_finished`: finished jobs by state and time (completions in a window for the
    ///   alerts; usable by retention for pruning by age).
    static let v2Alerts = """
        CREATE TABLE surety_alerts (
            key        TEXT    PRIMARY KEY,
            status     TEXT    NOT NULL,
            version    INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            state      TEXT    NOT NULL
        );

        CREATE INDEX surety_attempts_ended ON surety_attempts (ended_at);

        CREATE INDEX surety_jobs_finished ON surety_jobs (state, finished_at)
            WHERE finished_at IS NOT NULL;
        """
}
