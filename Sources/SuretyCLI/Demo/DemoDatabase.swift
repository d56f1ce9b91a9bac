import Foundation
import GRDB
import Logging
import PostgresNIO
import Surety
import SuretyPostgres

/// Where the demo application's own tables live (`demo_email_provider`, `demo_accounts`,
/// `demo_transfers`): the SQLite file of the store, or the PostgreSQL schema of the store (the
/// store's pool, whose `search_path` is that schema), as an application's tables would.
public enum DemoDatabase: Sendable {
    case sqlite(any DatabaseWriter)
    case postgres(PostgresStore)

    static let logger = Logger(label: "surety.demo") { _ in SwiftLogNoOpLogHandler() }

    /// A message the simulated provider accepted.
    public struct Message: Sendable, Hashable {
        public var jobID: JobID
        public var tenant: String
        public var recipient: String
        /// 1 + the resends the provider deduplicated.
        public var sendRequests: Int
    }

    /// A payment job's transfer.
    public struct Transfer: Sendable, Hashable {
        public var jobID: JobID
        public var tenant: String
        public var from: String
        public var to: String
        public var amount: Int
    }

    /// An account's balance and the balance it opened with.
    public struct Account: Sendable, Hashable {
        public var tenant: String
        public var account: String
        public var balance: Int
        public var opening: Int
    }

    /// A `demo.sleep` gauge: how many run now, the most that ran at once, how many ran.
    public struct Gauge: Sendable, Hashable {
        public var name: String
        public var running: Int
        public var peak: Int
        public var runs: Int
    }

    /// Counts a run in, and raises the peak when more run at once than ever before (one atomic
    /// statement, so runs in several processes count right).
    public func enterGauge(_ gauge: String) async throws {
        switch self {
        case .sqlite(let database):
            try await database.write { db in
                try db.execute(sql: """
                    INSERT INTO demo_gauges (gauge, running, peak, runs) VALUES (?, 1, 1, 1)
                    ON CONFLICT (gauge) DO UPDATE SET running = running + 1, peak = MAX(peak, running + 1), runs = runs + 1
                    """, arguments: [gauge])
            }
        case .postgres(let store):
            _ = try await store.client.query("""
                INSERT INTO demo_gauges (gauge, running, peak, runs) VALUES (\(gauge), 1, 1, 1)
                ON CONFLICT (gauge) DO UPDATE SET running = demo_gauges.running + 1,
                    peak = GREATEST(demo_gauges.peak, demo_gauges.running + 1), runs = demo_gauges.runs + 1
                """, logger: Self.logger)
        }
    }

    /// Counts a run out.
    public func leaveGauge(_ gauge: String) async throws {
        switch self {
        case .sqlite(let database):
            try await database.write { db in
                try db.execute(sql: "UPDATE demo_gauges SET running = running - 1 WHERE gauge = ?", arguments: [gauge])
            }
        case .postgres(let store):
            _ = try await store.client.query("UPDATE demo_gauges SET running = running - 1 WHERE gauge = \(gauge)", logger: Self.logger)
        }
    }

    /// Every gauge.
    public func gauges() async throws -> [Gauge] {
        switch self {
        case .sqlite(let database):
            return try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT gauge, running, peak, runs FROM demo_gauges").map {
                    Gauge(name: $0["gauge"], running: $0["running"], peak: $0["peak"], runs: $0["runs"])
                }
            }
        case .postgres(let store):
            let rows = try await store.client.query("SELECT gauge, running, peak, runs FROM demo_gauges", logger: Self.logger)
            var gauges: [Gauge] = []
            for try await (name, running, peak, runs) in rows.decode((String, Int64, Int64, Int64).self) {
                gauges.append(Gauge(name: name, running: Int(running), peak: Int(peak), runs: Int(runs)))
            }
            return gauges
        }
    }

    /// Every message the provider accepted.
    public func messages() async throws -> [Message] {
        switch self {
        case .sqlite(let database):
            return try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT job_id, tenant, recipient, send_requests FROM demo_email_provider").map {
                    Message(jobID: JobID(rawValue: $0["job_id"]), tenant: $0["tenant"], recipient: $0["recipient"], sendRequests: $0["send_requests"])
                }
            }
        case .postgres(let store):
            let rows = try await store.client.query("SELECT job_id, tenant, recipient, send_requests FROM demo_email_provider", logger: Self.logger)
            var messages: [Message] = []
            for try await (job, tenant, recipient, requests) in rows.decode((Int64, String, String, Int64).self) {
                messages.append(Message(jobID: JobID(rawValue: job), tenant: tenant, recipient: recipient, sendRequests: Int(requests)))
            }
            return messages
        }
    }

    /// Every transfer.
    public func transfers() async throws -> [Transfer] {
        switch self {
        case .sqlite(let database):
            return try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT job_id, tenant, from_account, to_account, amount FROM demo_transfers").map {
                    Transfer(jobID: JobID(rawValue: $0["job_id"]), tenant: $0["tenant"], from: $0["from_account"], to: $0["to_account"], amount: $0["amount"])
                }
            }
        case .postgres(let store):
            let rows = try await store.client.query("SELECT job_id, tenant, from_account, to_account, amount FROM demo_transfers", logger: Self.logger)
            var transfers: [Transfer] = []
            for try await (job, tenant, from, to, amount) in rows.decode((Int64, String, String, String, Int64).self) {
                transfers.append(Transfer(jobID: JobID(rawValue: job), tenant: tenant, from: from, to: to, amount: Int(amount)))
            }
            return transfers
        }
    }

    /// Every account.
    public func accounts() async throws -> [Account] {
        switch self {
        case .sqlite(let database):
            return try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT tenant, account, balance, opening_balance FROM demo_accounts").map {
                    Account(tenant: $0["tenant"], account: $0["account"], balance: $0["balance"], opening: $0["opening_balance"])
                }
            }
        case .postgres(let store):
            let rows = try await store.client.query("SELECT tenant, account, balance, opening_balance FROM demo_accounts", logger: Self.logger)
            var accounts: [Account] = []
            for try await (tenant, account, balance, opening) in rows.decode((String, String, Int64, Int64).self) {
                accounts.append(Account(tenant: tenant, account: account, balance: Int(balance), opening: Int(opening)))
            }
            return accounts
        }
    }
}

/// The demo tables on PostgreSQL (the SQLite ones are in ``DemoSchema/migrate(_:)``).
extension DemoSchema {
    /// Creates the demo tables in the store's schema when missing. Idempotent, and safe when
    /// several worker processes start at once (a transaction-scoped advisory lock serialises them).
    public static func migrate(postgres store: PostgresStore) async throws {
        let logger = DemoDatabase.logger
        try await store.client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.surety_demo_tables'))", logger: logger)
            for statement in [
                """
                CREATE TABLE IF NOT EXISTS demo_email_provider (
                    idempotency_key TEXT PRIMARY KEY,
                    message_id TEXT NOT NULL UNIQUE,
                    job_id BIGINT NOT NULL,
                    tenant TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    accepted_at TEXT NOT NULL,
                    send_requests BIGINT NOT NULL DEFAULT 1
                )
                """,
                "CREATE INDEX IF NOT EXISTS demo_email_provider_job ON demo_email_provider (job_id)",
                """
                CREATE TABLE IF NOT EXISTS demo_gauges (
                    gauge TEXT PRIMARY KEY,
                    running BIGINT NOT NULL,
                    peak BIGINT NOT NULL,
                    runs BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS demo_accounts (
                    tenant TEXT NOT NULL,
                    account TEXT NOT NULL,
                    balance BIGINT NOT NULL,
                    opening_balance BIGINT NOT NULL,
                    PRIMARY KEY (tenant, account)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS demo_transfers (
                    job_id BIGINT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    from_account TEXT NOT NULL,
                    to_account TEXT NOT NULL,
                    amount BIGINT NOT NULL,
                    transferred_at TEXT NOT NULL
                )
                """,
            ] {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}

/// The simulated email provider and bank on PostgreSQL.
enum DemoPostgres {
    /// One transaction on the store's pool (`PostgresStore.transaction(in:_:)`, what the docs
    /// tell applications to use). An error thrown by `body` (a `PermanentFailure`, say) reaches
    /// the job unchanged once the transaction rolled back, so its class is kept.
    static func transaction<T: Sendable>(_ store: PostgresStore, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await store.transaction(in: store.client, body)
    }

    static func lookupMessage(_ store: PostgresStore, key: String) async throws -> String? {
        let rows = try await store.client.query("SELECT message_id FROM demo_email_provider WHERE idempotency_key = \(key)", logger: DemoDatabase.logger)
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    /// Accepts a message under `key`, or counts a resend and returns the message id already
    /// accepted under it (a concurrent insert of the same key waits for the first to commit).
    static func send(
        _ store: PostgresStore, key: String, jobID: JobID, tenant: TenantID, attempt: Int,
        recipient: String, subject: String, at: Date
    ) async throws -> (messageID: String, duplicate: Bool) {
        let logger = DemoDatabase.logger
        let (messageID, acceptedAt, job, tenantName) = ("msg-\(jobID.rawValue)-a\(attempt)", Formatting.timestamp(at), jobID.rawValue, tenant.rawValue)
        return try await transaction(store) { connection -> (messageID: String, duplicate: Bool) in
            let inserted = try await connection.query("""
                INSERT INTO demo_email_provider (idempotency_key, message_id, job_id, tenant, recipient, subject, accepted_at, send_requests)
                VALUES (\(key), \(messageID), \(job), \(tenantName), \(recipient), \(subject), \(acceptedAt), 1)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING message_id
                """, logger: logger)
            for try await id in inserted.decode(String.self) { return (id, false) }
            let existing = try await connection.query(
                "UPDATE demo_email_provider SET send_requests = send_requests + 1 WHERE idempotency_key = \(key) RETURNING message_id",
                logger: logger
            )
            for try await id in existing.decode(String.self) { return (id, true) }
            throw SuretyError(.storeUnavailable, "the demo email provider lost message \(key)")
        }
    }

    static func transferExists(_ store: PostgresStore, jobID: JobID) async throws -> Bool {
        let rows = try await store.client.query("SELECT 1 FROM demo_transfers WHERE job_id = \(jobID.rawValue)", logger: DemoDatabase.logger)
        for try await _ in rows { return true }
        return false
    }

    /// Records the transfer of job `jobID` and moves the money, in one transaction; a second call
    /// for the same job moves nothing (`demo_transfers` is keyed on the job). Accounts are locked
    /// in name order, so two opposite transfers cannot deadlock.
    static func transfer(_ store: PostgresStore, jobID: JobID, tenant: TenantID, from: String, to: String, amount: Int, at: Date) async throws -> Bool {
        let logger = DemoDatabase.logger
        let (job, tenantName, when, value) = (jobID.rawValue, tenant.rawValue, Formatting.timestamp(at), Int64(amount))
        let opening = Int64(DemoServices.openingBalance)
        return try await transaction(store) { connection -> Bool in
            let inserted = try await connection.query("""
                INSERT INTO demo_transfers (job_id, tenant, from_account, to_account, amount, transferred_at)
                VALUES (\(job), \(tenantName), \(from), \(to), \(value), \(when)) ON CONFLICT (job_id) DO NOTHING RETURNING job_id
                """, logger: logger)
            var fresh = false
            for try await _ in inserted { fresh = true }
            guard fresh else { return false }
            for account in [from, to].sorted() {
                _ = try await connection.query("""
                    INSERT INTO demo_accounts (tenant, account, balance, opening_balance) VALUES (\(tenantName), \(account), \(opening), \(opening))
                    ON CONFLICT (tenant, account) DO NOTHING
                    """, logger: logger)
            }
            let locked = try await connection.query("""
                SELECT account, balance FROM demo_accounts WHERE tenant = \(tenantName) AND account IN (\(from), \(to))
                ORDER BY account FOR UPDATE
                """, logger: logger)
            var balance: Int64 = 0
            for try await (account, amountHeld) in locked.decode((String, Int64).self) where account == from { balance = amountHeld }
            guard balance >= value else {
                // Thrown inside the transaction: it rolls back, the transfer row included.
                throw PermanentFailure("insufficient funds in \(from): balance \(balance), transfer \(amount)")
            }
            _ = try await connection.query("UPDATE demo_accounts SET balance = balance - \(value) WHERE tenant = \(tenantName) AND account = \(from)", logger: logger)
            _ = try await connection.query("UPDATE demo_accounts SET balance = balance + \(value) WHERE tenant = \(tenantName) AND account = \(to)", logger: logger)
            return true
        }
    }
}
