extension Migrations {
    /// Workflows: one row per workflow, one row per step. A step's job is inserted into
    /// surety_jobs only when the step is released (its parents completed), in the transaction
    /// that completed its last parent; until then the step row holds the job as a template.
    static let v2Workflows = """
        CREATE TABLE surety_workflows (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            name         TEXT    NOT NULL,
            tenant       TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            unique_key   TEXT,
            created_at   INTEGER NOT NULL,
            finished_at  INTEGER,
            note         TEXT
        );
        CREATE UNIQUE INDEX surety_workflows_unique ON surety_workflows (tenant, unique_key)
            WHERE state = 'running' AND unique_key IS NOT NULL;
        CREATE INDEX surety_workflows_state ON surety_workflows (state, id);
        CREATE TABLE surety_workflow_steps (
            workflow_id   INTEGER NOT NULL,
            position      INTEGER NOT NULL,
            name          TEXT    NOT NULL,
            job_type      TEXT    NOT NULL,
            queue         TEXT    NOT NULL,
            parents       TEXT    NOT NULL,
            compensation  INTEGER NOT NULL DEFAULT 0,
            state         TEXT    NOT NULL,
            job_id        INTEGER,
            result        TEXT,
            finished_at   INTEGER,
            template      TEXT    NOT NULL,
            PRIMARY KEY (workflow_id, name)
        );
        CREATE UNIQUE INDEX surety_workflow_steps_job ON surety_workflow_steps (job_id) WHERE job_id IS NOT NULL;
        CREATE INDEX surety_workflow_steps_active ON surety_workflow_steps (job_id) WHERE state = 'active';
        """
}
