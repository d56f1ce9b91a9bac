extension Migrations {
    /// Cancel requests for running jobs (see the SQLite store's migration of the same name).
    static let v2CancelRequests: [String] = [
        """
        CREATE TABLE surety_cancel_requests (
            job_id  BIGINT PRIMARY KEY REFERENCES surety_jobs (id) ON DELETE CASCADE,
            actor   TEXT   NOT NULL,
            reason  TEXT   NOT NULL,
            at      BIGINT NOT NULL
        )
        """,
    ]
}
