extension Migrations {
    /// Workflows (see the SQLite store's migration of the same name): one row per workflow, one
    /// per step; a step's job is inserted only when the step is released.
    static let v2Workflows: [String] = [
        """
        CREATE TABLE surety_workflows (
            id           BIGSERIAL PRIMARY KEY,
            name         TEXT    NOT NULL,
            tenant       TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            unique_key   TEXT,
            created_at   BIGINT  NOT NULL,
            finished_at  BIGINT,
            note         TEXT
        )
        """,
        """
        CREATE UNIQUE INDEX surety_workflows_unique ON surety_workflows (tenant, unique_key)
            WHERE state = 'running' AND unique_key IS NOT NULL
        """,
        "CREATE INDEX surety_workflows_state ON surety_workflows (state, id)",
        """
        CREATE TABLE surety_workflow_steps (
            workflow_id   BIGINT  NOT NULL REFERENCES surety_workflows (id) ON DELETE CASCADE,
            position      INT     NOT NULL,
            name          TEXT    NOT NULL,
            job_type      TEXT    NOT NULL,
            queue         TEXT    NOT NULL,
            parents       TEXT    NOT NULL,
            compensation  BOOLEAN NOT NULL DEFAULT false,
            state         TEXT    NOT NULL,
            job_id        BIGINT,
            result        TEXT,
            finished_at   BIGINT,
            template      TEXT    NOT NULL,
            PRIMARY KEY (workflow_id, name)
        )
        """,
        "CREATE UNIQUE INDEX surety_workflow_steps_job ON surety_workflow_steps (job_id) WHERE job_id IS NOT NULL",
    ]
}
