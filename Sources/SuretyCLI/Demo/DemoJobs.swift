import Foundation
import GRDB
import Surety
import SuretySQLite

/// The demo job types (`--demo-jobs`, and always in `surety demo` and `surety enqueue`). Each
/// payload may carry a `"secret"` field, declared secret: it is redacted everywhere.
public enum DemoJobs {
    /// Every demo type.
    public static let types: [any Job.Type] = [DemoNoop.self, DemoFlaky.self, DemoEmail.self, DemoPayment.self, DemoSleep.self]
    /// A registry with every demo type.
    public static var registry: JobRegistry { JobRegistry(types) }
    /// The queues the demo types use: `default`, `email`, `payments`.
    public static let queues = ["default", "email", "payments"]
    /// Short backoffs so retries and the dead-letter inbox show within the demo's minute.
    public static let backoff = Backoff.exponential(initial: .milliseconds(200), factor: 2, cap: .seconds(2), jitter: 0.2)

    static func options(queue: String = "default", priority: Int = 2, maxAttempts: Int = 5, timeout: Duration = .seconds(60)) -> JobOptions {
        JobOptions(queue: queue, priority: priority, maxAttempts: maxAttempts, backoff: backoff, retryBudget: .seconds(300), timeout: timeout)
    }
}

/// `demo.noop` `{}`: does nothing.
public struct DemoNoop: Job {
    public static let name = "demo.noop"
    public static let options = DemoJobs.options(priority: 5)
    public static let secretFields: Set<String> = ["secret"]
    public var secret: String?

    public init(secret: String? = nil) { self.secret = secret }

    public func run(_ context: JobContext) async throws {}
}

/// `demo.flaky` `{"transientRate": 0.3, "permanentRate": 0.05}`: on each attempt, fails
/// permanently with probability `permanentRate`, else transiently with probability
/// `transientRate`, else succeeds. Both default to those values when absent.
public struct DemoFlaky: Job {
    public static let name = "demo.flaky"
    public static let options = DemoJobs.options(priority: 3, maxAttempts: 4)
    public static let secretFields: Set<String> = ["secret"]
    public var transientRate: Double?
    public var permanentRate: Double?
    public var secret: String?

    public init(transientRate: Double = 0.3, permanentRate: Double = 0.05, secret: String? = nil) {
        self.transientRate = transientRate
        self.permanentRate = permanentRate
        self.secret = secret
    }

    public func run(_ context: JobContext) async throws {
        let transient = transientRate ?? 0.3
        let permanent = permanentRate ?? 0.05
        guard (0...1).contains(transient), (0...1).contains(permanent) else {
            throw PermanentFailure("transientRate and permanentRate must be between 0 and 1")
        }
        let services = try? context.dependency(DemoServices.self)
        let roll = services?.unitRandom(context, "flaky") ?? Double.random(in: 0..<1)
        if roll < permanent {
            throw PermanentFailure("simulated permanent failure (the input can never be processed)")
        }
        if roll < permanent + transient {
            throw DemoTransientError(message: "simulated transient failure (a dependency timed out)")
        }
    }
}

/// `demo.email` `{"to": "a@b.example", "subject": "..."}`: sends through a simulated provider
/// (the `demo_email_provider` table, its own transaction, recording the job's tenant and the
/// recipient) inside `context.effect("send", key: to, policy: .rerunWithSameKey)`. The provider
/// deduplicates on the effect's idempotency key. It can fail before accepting (502) and can accept
/// the message and then lose the response; either way the effect is left unconfirmed, and the
/// next attempt reconciles by looking the key up at the provider: found, the recorded message id
/// is confirmed without sending; not found, it sends (with the same key). So each job sends
/// exactly one email, a worker killed mid-send included.
public struct DemoEmail: Job {
    public static let name = "demo.email"
    public static let options = DemoJobs.options(queue: "email", priority: 1)
    public static let secretFields: Set<String> = ["secret"]
    public var to: String
    public var subject: String
    public var secret: String?

    public init(to: String, subject: String, secret: String? = nil) {
        self.to = to
        self.subject = subject
        self.secret = secret
    }

    public func run(_ context: JobContext) async throws {
        let services = try context.dependency(DemoServices.self)
        let parts = to.split(separator: "@")
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains(".") else {
            throw PermanentFailure("recipient '\(to)' is not an email address; the provider rejects it (422)")
        }
        let (tables, tenant, jobID, recipient, subject) = (services.tables, context.tenant, context.id, to, self.subject)
        let messageID: String = try await context.effect(
            "send", key: recipient, policy: .rerunWithSameKey,
            reconcile: { key in
                if let existing = try await DemoEmailProvider.lookup(in: tables, key: key) { return .happened(existing) }
                return .didNotHappen
            },
            perform: { key in
                if services.unitRandom(context, "email.502") < services.faults.emailProviderErrorRate {
                    throw DemoProviderError(status: 502, message: "email provider answered 502 Bad Gateway before accepting the message")
                }
                let (messageID, duplicate) = try await DemoEmailProvider.send(
                    in: tables, key: key, jobID: jobID, tenant: tenant, attempt: context.attempt,
                    recipient: recipient, subject: subject, at: context.clock.now()
                )
                if services.unitRandom(context, "email.lost") < services.faults.emailResponseLostRate {
                    throw DemoProviderError(status: nil, message: "email provider accepted the message, but the response was lost (connection reset)")
                }
                if duplicate {
                    context.logger.debug("the provider deduplicated a resend", metadata: ["message_id": "\(messageID)"])
                }
                return messageID
            }
        )
        context.logger.debug("email accepted by the provider", metadata: ["message_id": "\(messageID)"])
    }
}

/// The simulated email provider: a table in its own transactions.
public enum DemoEmailProvider {
    /// The message id accepted under `key`, if any, wherever the demo tables live.
    public static func lookup(in tables: DemoDatabase, key: String) async throws -> String? {
        switch tables {
        case .sqlite(let database): try await lookup(in: database, key: key)
        case .postgres(let store): try await DemoPostgres.lookupMessage(store, key: key)
        }
    }

    /// Accepts a message under `key` (or counts a resend), wherever the demo tables live.
    public static func send(
        in tables: DemoDatabase, key: String, jobID: JobID, tenant: TenantID, attempt: Int,
        recipient: String, subject: String, at: Date
    ) async throws -> (messageID: String, duplicate: Bool) {
        switch tables {
        case .sqlite(let database):
            try await send(in: database, key: key, jobID: jobID, tenant: tenant, attempt: attempt, recipient: recipient, subject: subject, at: at)
        case .postgres(let store):
            try await DemoPostgres.send(store, key: key, jobID: jobID, tenant: tenant, attempt: attempt, recipient: recipient, subject: subject, at: at)
        }
    }

    /// The message id accepted under `key`, if any (how a job reconciles an unconfirmed send).
    public static func lookup(in database: any DatabaseWriter, key: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT message_id FROM demo_email_provider WHERE idempotency_key = ?", arguments: [key])
        }
    }

    /// Accepts a message under `key`, or returns the message id already accepted under it.
    public static func send(
        in database: any DatabaseWriter, key: String, jobID: JobID, tenant: TenantID, attempt: Int,
        recipient: String, subject: String, at: Date
    ) async throws -> (messageID: String, duplicate: Bool) {
        let acceptedAt = Formatting.timestamp(at)
        return try await database.write { db in
            if let existing = try String.fetchOne(
                db, sql: "SELECT message_id FROM demo_email_provider WHERE idempotency_key = ?", arguments: [key]
            ) {
                try db.execute(
                    sql: "UPDATE demo_email_provider SET send_requests = send_requests + 1 WHERE idempotency_key = ?",
                    arguments: [key]
                )
                return (existing, true)
            }
            let messageID = "msg-\(jobID.rawValue)-a\(attempt)"
            try db.execute(
                sql: """
                    INSERT INTO demo_email_provider
                        (idempotency_key, message_id, job_id, tenant, recipient, subject, accepted_at, send_requests)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1)
                    """,
                arguments: [key, messageID, jobID.rawValue, tenant.rawValue, recipient, subject, acceptedAt]
            )
            return (messageID, false)
        }
    }
}

/// `demo.payment` `{"from": "acct-1", "to": "acct-2", "amount": 10}`: moves money between two
/// accounts of the job's tenant and inserts `demo_transfers(job_id)`.
///
/// - On SQLite, through `SQLiteStore.complete(context)`: the transfer and the job's `completed`
///   state commit in ONE transaction (fenced on the attempt's lease), so a transfer exists exactly
///   when its job completed, a killed worker or a lost lease included.
/// - On PostgreSQL, as an effect (`context.effect("transfer", policy: .rerunWithSameKey)`) whose
///   one transaction inserts the transfer keyed on the job and moves the money only when that
///   insert was new; an attempt that finds the effect in doubt reconciles by looking the transfer
///   up. So money moves at most once per job, and a transfer exists for every completed payment;
///   a job whose attempts all ran out after its transfer committed ends dead with its transfer.
///
/// An account opens with 1000 the first time it is named; a transfer larger than the balance
/// fails permanently (rolled back).
public struct DemoPayment: Job {
    public static let name = "demo.payment"
    public static let options = DemoJobs.options(queue: "payments", priority: 1)
    public static let secretFields: Set<String> = ["secret"]
    public var from: String
    public var to: String
    public var amount: Int
    public var secret: String?

    public init(from: String, to: String, amount: Int, secret: String? = nil) {
        self.from = from
        self.to = to
        self.amount = amount
        self.secret = secret
    }

    enum Outcome: String, Sendable, Codable { case transferred, alreadyDone }

    public func run(_ context: JobContext) async throws {
        let services = try context.dependency(DemoServices.self)
        guard amount > 0 else { throw PermanentFailure("amount must be positive, got \(amount)") }
        guard from != to else { throw PermanentFailure("a transfer needs two different accounts") }
        guard !from.isEmpty, !to.isEmpty else { throw PermanentFailure("account names must not be empty") }
        let outcome: Outcome
        switch services.tables {
        case .sqlite:
            outcome = try await transferInSQLite(context)
        case .postgres(let store):
            let (jobID, tenant, from, to, amount, at) = (context.id, context.tenant, self.from, self.to, self.amount, context.clock.now())
            outcome = try await context.effect(
                "transfer", policy: .rerunWithSameKey,
                reconcile: { _ in try await DemoPostgres.transferExists(store, jobID: jobID) ? .happened(.alreadyDone) : .didNotHappen },
                perform: { _ in
                    try await DemoPostgres.transfer(store, jobID: jobID, tenant: tenant, from: from, to: to, amount: amount, at: at)
                        ? .transferred : .alreadyDone
                }
            )
        }
        if outcome == .alreadyDone {
            context.logger.info("transfer already recorded by an earlier attempt; nothing moved")
        }
        if outcome == .transferred, services.unitRandom(context, "payment.lost") < services.faults.paymentResponseLostRate {
            // On SQLite the job is already completed in the transaction: the worker keeps it
            // completed. On PostgreSQL the effect is confirmed: the retry returns its result.
            throw DemoTransientError(message: "database connection reset after the transfer committed")
        }
    }

    private func transferInSQLite(_ context: JobContext) async throws -> Outcome {
        let store = try context.dependency(SQLiteStore.self)
        let (jobID, tenant, from, to, amount) = (context.id.rawValue, context.tenant.rawValue, self.from, self.to, self.amount)
        let at = Formatting.timestamp(context.clock.now())
        let outcome: Outcome
        do {
            outcome = try await store.complete(context) { db -> Outcome in
                try db.execute(
                    sql: """
                        INSERT INTO demo_transfers (job_id, tenant, from_account, to_account, amount, transferred_at)
                        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING
                        """,
                    arguments: [jobID, tenant, from, to, amount, at]
                )
                // Cannot happen while the transfer commits with the completion; kept as a guard.
                guard db.changesCount > 0 else { return .alreadyDone }
                for account in [from, to] {
                    try db.execute(
                        sql: """
                            INSERT INTO demo_accounts (tenant, account, balance, opening_balance) VALUES (?, ?, ?, ?)
                            ON CONFLICT (tenant, account) DO NOTHING
                            """,
                        arguments: [tenant, account, DemoServices.openingBalance, DemoServices.openingBalance]
                    )
                }
                let balance = try Int.fetchOne(
                    db, sql: "SELECT balance FROM demo_accounts WHERE tenant = ? AND account = ?", arguments: [tenant, from]
                ) ?? 0
                guard balance >= amount else {
                    // Thrown inside the transaction: it rolls back, the transfer row included.
                    throw PermanentFailure("insufficient funds in \(from): balance \(balance), transfer \(amount)")
                }
                try db.execute(
                    sql: "UPDATE demo_accounts SET balance = balance - ? WHERE tenant = ? AND account = ?",
                    arguments: [amount, tenant, from]
                )
                try db.execute(
                    sql: "UPDATE demo_accounts SET balance = balance + ? WHERE tenant = ? AND account = ?",
                    arguments: [amount, tenant, to]
                )
                return .transferred
            }
        }
        return outcome
    }
}

/// `demo.sleep` `{"milliseconds": 200, "attempts": 1, "gauge": "name"}`: sleeps (cooperatively,
/// on the runtime's clock) for `milliseconds` on its first `attempts` attempts, then returns at
/// once. `attempts` defaults to unlimited (always sleeps). With `gauge`, the sleep is counted in
/// the demo table `demo_gauges` (running now, the peak of running at once, runs), across every
/// process on the store: how a test sees that two nodes never exceed a concurrency limit together.
public struct DemoSleep: Job {
    public static let name = "demo.sleep"
    public static let options = DemoJobs.options(priority: 0, timeout: .seconds(3600))
    public static let secretFields: Set<String> = ["secret"]
    public var milliseconds: Int
    public var attempts: Int?
    public var gauge: String?
    public var secret: String?

    public init(milliseconds: Int, attempts: Int? = nil, gauge: String? = nil, secret: String? = nil) {
        self.milliseconds = milliseconds
        self.attempts = attempts
        self.gauge = gauge
        self.secret = secret
    }

    public func run(_ context: JobContext) async throws {
        guard milliseconds >= 0 else { throw PermanentFailure("milliseconds must not be negative") }
        guard context.attempt <= (attempts ?? Int.max) else { return }
        guard let gauge else {
            try await context.clock.sleep(for: .milliseconds(milliseconds))
            return
        }
        let tables = try context.dependency(DemoServices.self).tables
        try await tables.enterGauge(gauge)
        do {
            try await context.clock.sleep(for: .milliseconds(milliseconds))
        } catch {
            try await tables.leaveGauge(gauge)
            throw error
        }
        try await tables.leaveGauge(gauge)
    }
}

/// A simulated transient error (retrying may help).
public struct DemoTransientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A simulated provider error; transient (the provider may answer next time).
public struct DemoProviderError: Error, Sendable, CustomStringConvertible {
    public var status: Int?
    public var message: String
    public var description: String { message }
}
