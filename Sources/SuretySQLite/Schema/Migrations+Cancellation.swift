extension Migrations {
    /// Cancel requests for running jobs: one row per running job an operator asked to stop. The
    /// job's worker reads it at its next heartbeat; the finish of the job's attempt deletes it
    /// (and turns a retry into `cancelled`).
    static let v2CancelRequests = """
        CREATE TABLE surety_cancel_requests (
            job_id  INTEGER PRIMARY KEY REFERENCES surety_jobs (id) ON DELETE CASCADE,
            actor   TEXT    NOT NULL,
            reason  TEXT    NOT NULL,
            at      INTEGER NOT NULL
        );
        """
}
