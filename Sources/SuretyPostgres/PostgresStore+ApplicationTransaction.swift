import PostgresNIO
import Surety

extension PostgresStore {
    /// Runs `body` in one transaction on a connection of `client` (the application's own pool,
    /// or this store's `client`): `BEGIN`, `body`, `COMMIT`; `ROLLBACK` when `body` throws. Use
    /// it for the application's writes and the jobs they enqueue, so the jobs exist if and only
    /// if the application's transaction commits:
    ///
    /// ```swift
    /// try await store.transaction(in: appClient) { connection in
    ///     try await connection.query("INSERT INTO orders (id) VALUES (\(id))", logger: logger)
    ///     try await store.enqueue(SendReceipt(orderID: id), tenant: acme, on: connection)
    /// }
    /// ```
    ///
    /// Use it rather than postgres-nio's `withTransaction`, which differs in two ways that matter
    /// to a job system (docs/scaling.md): after a failure it writes `ROLLBACK` even to a
    /// connection the server closed (a restart, a failover), and can wait for ever for the answer;
    /// and it wraps the errors thrown inside it in a `PostgresTransactionError`, so a
    /// `PermanentFailure` (or a `lease_lost`) no longer reaches the worker as itself and may be
    /// retried as transient. Here the body's own errors pass through unchanged, and a closed
    /// connection is never written to (its transaction is gone with it).
    ///
    /// - Throws: whatever `body` throws, unchanged; `SuretyError` `storeUnavailable` (with the
    ///   server's reason) when `BEGIN` or `COMMIT` fails. A failed `COMMIT` leaves the outcome
    ///   as PostgreSQL reports it: nothing of the transaction is kept.
    @discardableResult
    public func transaction<T: Sendable>(in client: PostgresClient, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction(in: client, operation: "transaction", body)
    }

    /// ``transaction(in:_:)`` naming `operation` in its errors.
    func transaction<T: Sendable>(in client: PostgresClient, operation: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await client.withConnection { connection -> T in
            do {
                try await connection.queryIfOpen("BEGIN", logger: logger)
            } catch {
                throw PostgresErrors.wrap(error, configuration: configuration, operation: operation)
            }
            let value: T
            do {
                value = try await body(connection)
            } catch {
                if !connection.isClosed { _ = try? await connection.queryIfOpen("ROLLBACK", logger: logger) }
                throw error
            }
            do {
                try await connection.queryIfOpen("COMMIT", logger: logger)
            } catch {
                throw PostgresErrors.wrap(error, configuration: configuration, operation: operation)
            }
            return value
        }
    }
}
