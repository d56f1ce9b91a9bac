import Foundation
import Logging
import PostgresNIO
import Surety

/// Enqueue and completion inside the application's own PostgreSQL transaction.
///
/// Both take a postgres-nio `PostgresConnection` on which the application has begun a transaction
/// (`BEGIN`), on the same database as the store: the
/// application's writes, the jobs it enqueues and the completion of the running attempt commit
/// together or not at all. The connection may come from the application's own pool; its
/// `search_path` does not matter (Surety's statements set the store's schema for their own
/// duration, `SET LOCAL` style, and put the application's back).
extension PostgresStore {
    /// Transactional enqueue (the outbox pattern): inserts the jobs inside the application's
    /// transaction on `connection`, so they exist if and only if that transaction commits.
    ///
    /// ```swift
    /// try await store.transaction(in: appClient) { connection in   // BEGIN ... COMMIT
    ///     try await connection.query("INSERT INTO orders (id, total) VALUES (\(id), \(total))", logger: logger)
    ///     try await store.enqueue([receiptJob], on: connection)
    /// }
    /// ```
    ///
    /// ``transaction(in:_:)`` runs the transaction; a transaction the application begins itself
    /// on a connection it holds works too. Not postgres-nio's `withTransaction`: after a server
    /// close it can wait for ever for its `ROLLBACK`'s answer, and it wraps the errors thrown
    /// inside it (docs/scaling.md).
    ///
    /// - The jobs are inserted in a savepoint: if this call throws, none of them is inserted and
    ///   the application's transaction can go on.
    /// - Workers are woken by the `NOTIFY` the insert sends, which PostgreSQL delivers at commit
    ///   (never for a transaction that rolls back).
    /// - A queue with a maximum backlog (load shedding) is counted under its advisory lock, which
    ///   the application's transaction then holds until it ends: keep such transactions short.
    /// - Called on a connection that is not inside a transaction, it runs its own on it.
    ///
    /// - Throws: `SuretyError`: `queueFull` from load shedding, `storeUnavailable` with the
    ///   server's reason otherwise.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        let bounded = LoadShedding.bounded(jobs, limits: try await currentLimits(now: jobs[0].enqueuedAt))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let outcome = try await inStoreScope("enqueue", savepoint: "surety_enqueue", connection) { connection in
                    if bounded.isEmpty {
                        return Result<[EnqueuedJob], SuretyError>.success(
                            try await Self.insert(jobs, EnqueueRows(jobs), connection, notify: notifyQuery, logger: logger)
                        )
                    }
                    return try await shedAndInsert(jobs, bounded: bounded, connection)
                }
                return try outcome.get()
            } catch let retry as ScopeFailure where retry.error is PostgresErrors.Retry && attempt < 5 {
                continue
            } catch let failure as ScopeFailure where failure.error is PostgresErrors.Retry {
                throw SuretyError(.storeUnavailable, "enqueue: a unique key's holder kept changing while the key was looked up; retry")
            } catch let failure as ScopeFailure {
                throw PostgresErrors.wrap(failure.error, configuration: configuration, operation: "enqueue")
            }
        }
    }

    /// Completes the running attempt of `context` inside the application's transaction on
    /// `connection`, together with the application's own writes there. The completion is fenced
    /// on the attempt's lease token: if the lease was lost (the job was rescued and may run
    /// elsewhere), this throws `SuretyError.Code.leaseLost` **and leaves the transaction
    /// failed**, so it cannot commit: the application's writes roll back with it.
    ///
    /// Most jobs call ``complete(_:in:_:)``, which runs the transaction for them:
    ///
    /// ```swift
    /// func run(_ context: JobContext) async throws {
    ///     let (store, app) = (try context.dependency(PostgresStore.self), try context.dependency(PostgresClient.self))
    ///     try await store.complete(context, in: app) { connection in
    ///         try await connection.query("UPDATE accounts SET balance = balance - \(amount) WHERE id = \(from)", logger: context.logger)
    ///         try await connection.query("UPDATE accounts SET balance = balance + \(amount) WHERE id = \(to)", logger: context.logger)
    ///     }
    /// }
    /// ```
    ///
    /// Call it last in the transaction, and the transaction last in `run`. Once `run` returns,
    /// the worker checks whether the transaction committed the completion: if it did, the worker
    /// writes nothing more for the attempt; if it rolled back, the worker records the attempt's
    /// outcome as usual (fenced on the same token).
    ///
    /// - Throws: `SuretyError`: `invalidArgument` outside a running attempt or outside a
    ///   transaction; `leaseLost`; `storeUnavailable` with the server's reason.
    public func complete(_ context: JobContext, on connection: PostgresConnection) async throws {
        try await complete(context, stepResultText: nil, on: connection)
    }

    /// ``complete(_:on:)`` for a workflow step that hands on a result: the completion and the
    /// step's result (what `JobContext.setStepResult(_:)` would store, written here instead) are
    /// written in the application's transaction on `connection`, so they commit together with
    /// its writes, or none of them does. The steps after it are released in that transaction
    /// too: they can never run without the result.
    ///
    /// - Throws: as ``complete(_:on:)``; `invalidPayload` when the result does not encode and
    ///   `invalidArgument` when the job is not a workflow step (nothing written then).
    public func complete<R: Encodable & Sendable>(_ context: JobContext, stepResult: R, on connection: PostgresConnection) async throws {
        try await complete(context, stepResultText: try context.encodedStepResult(stepResult), on: connection)
    }

    private func complete(_ context: JobContext, stepResultText: String?, on connection: PostgresConnection) async throws {
        if let stepResultText, stepResultText.utf8.contains(0) {
            throw SuretyError(.invalidArgument, "the step's result contains a NUL character (U+0000), which PostgreSQL cannot store as text; remove it")
        }
        let completedAt = context.clock.now()
        let finish = try context.completionTransition(at: completedAt)
        let inTransaction: Bool
        do {
            inTransaction = try await Self.isInTransaction(connection, logger: logger)
        } catch let error as SuretyError {
            throw error
        } catch {
            throw PostgresErrors.wrap(error, configuration: configuration, operation: "complete in transaction")
        }
        guard inTransaction else {
            throw SuretyError(.invalidArgument, "complete(_:on:) must run inside the application's transaction (BEGIN first, or use complete(_:in:_:))")
        }
        let applied: Bool
        do {
            if stepResultText != nil, try await !inStoreScope("complete in transaction", savepoint: nil, connection, { connection in
                try await Self.isWorkflowStep(finish.lease.jobID, connection, logger: logger)
            }) {
                throw SuretyError(.invalidArgument, "job \(context.id) is not a workflow step; it has no step result to store (nothing written)")
            }
            applied = try await inStoreScope("complete in transaction", savepoint: nil, connection) { connection in
                let (applied, _) = try await Self.applyFinishes([finish], connection, notify: notifyQuery, leaseTimes: leaseTimes, logger: logger)
                if applied == [true] {
                    if let stepResultText { try await Self.storeStepResult(stepResultText, ofCompleted: finish.lease.jobID, connection, logger: logger) }
                    return true
                }
                // Leave the application's transaction failed: it can only roll back now.
                try await connection.queryIfOpen("""
                    DO $$ BEGIN RAISE EXCEPTION 'surety: the lease was lost; this transaction must roll back' USING ERRCODE = 'P0001'; END $$
                    """, logger: logger)
                return false
            }
        } catch let failure as ScopeFailure {
            if let error = failure.error as? PSQLError, error.serverInfo?[.sqlState] == "P0001" {
                throw Self.leaseLost(context)
            }
            throw PostgresErrors.wrap(failure.error, configuration: configuration, operation: "complete in transaction")
        }
        guard applied else { throw Self.leaseLost(context) }
        let lease = finish.lease
        context.markCompletionPending(at: completedAt) { [self] in
            try await self.completedBy(lease, at: completedAt)
        }
    }

    /// Runs `body` and completes the running attempt of `context` in one transaction on a
    /// connection of `client` (the application's pool, or this store's `client`), then commits:
    /// the application's writes in `body` and the completion commit together or not at all (see
    /// ``complete(_:on:)``). The body's own errors pass through unchanged and roll back.
    @discardableResult
    public func complete<T: Sendable>(
        _ context: JobContext, in client: PostgresClient, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await complete(context, stepResultText: nil, in: client, body)
    }

    /// ``complete(_:in:_:)`` for a workflow step that hands on a result: `body`, the completion
    /// and the step's result commit in ONE transaction, or none of them (see
    /// ``complete(_:stepResult:on:)``).
    ///
    /// ```swift
    /// try await store.complete(context, stepResult: Receipt(id: receiptID), in: app) { connection in
    ///     try await connection.query("UPDATE orders SET paid = true WHERE id = \(orderID)", logger: context.logger)
    /// }
    /// ```
    @discardableResult
    public func complete<T: Sendable, R: Encodable & Sendable>(
        _ context: JobContext, stepResult: R, in client: PostgresClient, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await complete(context, stepResultText: try context.encodedStepResult(stepResult), in: client, body)
    }

    private func complete<T: Sendable>(
        _ context: JobContext, stepResultText: String?, in client: PostgresClient, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let value = try await transaction(in: client, operation: "complete in transaction") { connection -> T in
            let value = try await body(connection)
            try await complete(context, stepResultText: stepResultText, on: connection)
            return value
        }
        // Committed: the worker need not ask.
        context.confirmPendingCompletion()
        return value
    }

    /// Whether `lease`'s attempt is stored as completed at `date` (its completion committed).
    func completedBy(_ lease: Lease, at date: Date) async throws -> Bool {
        let rows = try await query("verify completion", """
            SELECT 1 FROM surety_jobs
            WHERE id = \(lease.jobID.rawValue) AND state = 'completed' AND finished_at = \(Timestamp.micros(date))
            """) { try await $0.collect { _ in true } }
        return !rows.isEmpty
    }

    static func leaseLost(_ context: JobContext) -> SuretyError {
        SuretyError(.leaseLost, "job \(context.id) attempt \(context.attempt): the lease was lost before the transaction committed; the transaction must roll back")
    }

    /// An error inside ``inStoreScope(_:savepoint:_:_:)``: the raw error, wrapped by the caller.
    struct ScopeFailure: Error {
        var error: any Error
    }

    /// Runs `body` on the application's connection with the store's schema first on the
    /// `search_path`, putting the application's back afterwards; with `savepoint`, inside a
    /// savepoint that is rolled back when `body` throws (outside a transaction: in a transaction
    /// of its own).
    func inStoreScope<T>(
        _ operation: String, savepoint: String?, _ connection: PostgresConnection,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = logger
        let schema = configuration.schema
        do {
            var ownTransaction = false
            if let savepoint {
                if try await Self.isInTransaction(connection, logger: logger) {
                    try await connection.queryIfOpen(PostgresQuery(unsafeSQL: "SAVEPOINT \(savepoint)"), logger: logger)
                } else {
                    try await connection.queryIfOpen("BEGIN", logger: logger)
                    ownTransaction = true
                }
            }
            let previous = try await connection.queryIfOpen("SELECT current_setting('search_path')", logger: logger).collect { try $0[0].decode(String.self) }.first ?? ""
            do {
                try await connection.queryIfOpen("SELECT set_config('search_path', \(schema), true)", logger: logger)
                let value = try await body(connection)
                try await connection.queryIfOpen("SELECT set_config('search_path', \(previous), true)", logger: logger)
                if let savepoint {
                    try await connection.queryIfOpen(PostgresQuery(unsafeSQL: ownTransaction ? "COMMIT" : "RELEASE SAVEPOINT \(savepoint)"), logger: logger)
                }
                return value
            } catch {
                if let savepoint, !connection.isClosed {
                    // Undoes the inserts and the search_path change; the application's transaction goes on.
                    _ = try? await connection.queryIfOpen(PostgresQuery(unsafeSQL: ownTransaction ? "ROLLBACK" : "ROLLBACK TO SAVEPOINT \(savepoint)"), logger: logger)
                    if !ownTransaction { _ = try? await connection.queryIfOpen(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(savepoint)"), logger: logger) }
                }
                throw error
            }
        } catch let error as SuretyError {
            throw error
        } catch {
            throw ScopeFailure(error: error)
        }
    }

    /// Whether `connection` is inside a transaction block, by a savepoint probe (a savepoint fails
    /// outside one with SQLSTATE 25P01).
    static func isInTransaction(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard !connection.isClosed else {
            throw SuretyError(.storeUnavailable, "the application's connection is closed")
        }
        do {
            try await connection.queryIfOpen("SAVEPOINT surety_probe", logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "25P01" {
            return false
        }
        try await connection.queryIfOpen("RELEASE SAVEPOINT surety_probe", logger: logger)
        return true
    }
}

extension PostgresStore {
    /// Typed transactional enqueue: ``enqueue(_:on:)`` for one job, built by
    /// `JobQueue.newJob(_:tenant:options:)` with the same rules as
    /// `JobQueue.enqueue(_:tenant:options:)` (the type's queue, priority, attempts and
    /// unique scope, the job's own keys, the per-call overrides). No registry is needed.
    ///
    /// ```swift
    /// try await store.transaction(in: appClient) { connection in
    ///     try await connection.query("INSERT INTO orders (id) VALUES (\(id))", logger: logger)
    ///     try await store.enqueue(SendReceipt(orderID: id), tenant: acme, on: connection)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - job: the job to enqueue.
    ///   - tenant: the tenant it runs for.
    ///   - options: per-call overrides. Default: none.
    ///   - clock: the time source for the job's `enqueuedAt` and `runAt`; pass your
    ///     `JobQueue`'s clock (a test clock in tests). Default: `SystemClock`.
    ///   - connection: the application's connection, inside its transaction.
    /// - Throws: `SuretyError`: `invalidPayload` or `invalidArgument` from building the
    ///   job (nothing written), else as ``enqueue(_:on:)``.
    @discardableResult
    public func enqueue<J: Job>(
        _ job: J, tenant: TenantID, options: EnqueueOptions = EnqueueOptions(), clock: any SuretyClock = SystemClock(),
        on connection: PostgresConnection
    ) async throws -> EnqueuedJob {
        try await enqueue([JobQueue(store: self, clock: clock).newJob(job, tenant: tenant, options: options)], on: connection)[0]
    }
}
