import GRDB

/// The demo application's own tables, in the same SQLite file as the jobs (as an application's
/// tables would be). Idempotent: safe to run on every start.
///
/// - `demo_email_provider`: the simulated email provider's record of accepted messages, one row
///   per idempotency key; `send_requests` counts how often that key was sent (1 + resends the
///   provider deduplicated).
/// - `demo_accounts`: balances per (tenant, account); an account opens with 1000 the first time a
///   payment names it, and `opening_balance` keeps that amount so conservation can be checked.
/// - `demo_transfers`: one row per payment job that moved money, written in the transaction that
///   completes the job; its primary key on `job_id` guards against a second transfer as well.
/// - `demo_gauges`: `demo.sleep` jobs with a `gauge`: how many run now, the peak at once, runs.
public enum DemoSchema {
    public static func migrate(_ database: any DatabaseWriter) async throws {
        try await database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS demo_email_provider (
                    idempotency_key TEXT PRIMARY KEY NOT NULL,
                    message_id TEXT NOT NULL UNIQUE,
                    job_id INTEGER NOT NULL,
                    tenant TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    accepted_at TEXT NOT NULL,
                    send_requests INTEGER NOT NULL DEFAULT 1
                );
                CREATE INDEX IF NOT EXISTS demo_email_provider_job ON demo_email_provider (job_id);
                CREATE TABLE IF NOT EXISTS demo_accounts (
                    tenant TEXT NOT NULL,
                    account TEXT NOT NULL,
                    balance INTEGER NOT NULL,
                    opening_balance INTEGER NOT NULL,
                    PRIMARY KEY (tenant, account)
                );
                CREATE TABLE IF NOT EXISTS demo_gauges (
                    gauge TEXT PRIMARY KEY NOT NULL,
                    running INTEGER NOT NULL,
                    peak INTEGER NOT NULL,
                    runs INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS demo_transfers (
                    job_id INTEGER PRIMARY KEY NOT NULL,
                    tenant TEXT NOT NULL,
                    from_account TEXT NOT NULL,
                    to_account TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    transferred_at TEXT NOT NULL
                );
                """)
        }
    }
}
