import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A connection of the store's own, outside the pool, for enqueues of jobs without unique keys
/// (the prepared `InsertUnkeyedJobs` and its commit barrier).
///
/// Why: one producer enqueueing one job at a time pays, for every job, a lease of a pooled
/// connection and its release (the pool's state machine, a lock, a continuation). Measured on
/// the benchmark machine (`surety bench`, one producer, 6,000 jobs, three runs each), the same
/// statements on a connection of their own gave 1,986–2,065 jobs/s against 1,848–1,911 through
/// the pool (docs/benchmarks.md). Concurrent enqueues share one statement anyway
/// (``EnqueueGroupCommit``), so one connection is all they need.
///
/// How: the idle connection is taken out of its slot for the statement and put back after it,
/// so two callers never share it; a caller that finds the slot empty (in use, not yet opened, or
/// after a failure) uses the pool. The first caller to find it missing opens it (at most once per
/// ``retryInterval`` after a failed attempt, so a server that is down costs the pool's error, not
/// a connect per enqueue). A connection the server closed is dropped when next taken; one whose
/// statement failed is closed and dropped (a server error or a connection lost mid-statement: the
/// error goes to the caller exactly as the pool's would). ``close()`` at the end of the store's
/// `run()` closes it; nothing uses it after that.
final class EnqueueConnection: Sendable {
    private struct State {
        var idle: PostgresConnection?
        var opening = false
        var closed = false
        var lastFailedOpen: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    /// How long after a failed open the next caller uses the pool without trying again.
    static let retryInterval: Duration = .seconds(1)

    /// The idle connection, or `nil` when the caller should use the pool. `open` is set when the
    /// caller should open one afterwards (nobody else is, and no open failed just now); a caller
    /// that will not (`mayOpen` false) never gets it.
    func take(mayOpen: Bool = true) -> (connection: PostgresConnection?, open: Bool) {
        state.withLock { state in
            if let idle = state.idle {
                state.idle = nil
                if !idle.isClosed { return (idle, false) }
            }
            guard mayOpen, !state.closed, !state.opening, state.idle == nil else { return (nil, false) }
            if let failed = state.lastFailedOpen, ContinuousClock.now - failed < Self.retryInterval { return (nil, false) }
            state.opening = true
            return (nil, true)
        }
    }

    /// Puts a connection back after a statement that succeeded (or a freshly opened one). Returns
    /// `false` if the store was closed meanwhile: the caller closes it.
    func putBack(_ connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard !state.closed, state.idle == nil else { return false }
            state.idle = connection
            return true
        }
    }

    /// Ends an open attempt (`connection` `nil`: it failed, or it was not made). Returns whether
    /// the connection was kept; if not, the caller closes it.
    func opened(_ connection: PostgresConnection?) -> Bool {
        state.withLock { state -> Bool in
            state.opening = false
            guard let connection else {
                state.lastFailedOpen = .now
                return false
            }
            guard !state.closed, state.idle == nil else { return false }
            state.idle = connection
            return true
        }
    }

    /// Closes the idle connection; later callers use the pool.
    func close() async {
        let idle = state.withLock { state -> PostgresConnection? in
            state.closed = true
            defer { state.idle = nil }
            return state.idle
        }
        try? await idle?.close()
    }
}

extension PostgresStore {
    /// Runs a prepared write on the store's own enqueue connection when it is idle, else on a
    /// pooled one (see ``EnqueueConnection``). Errors are the pool path's.
    ///
    /// No reachability check of its own: the connection exists only after a pooled call (which
    /// makes that check) succeeded.
    func executeOnEnqueueConnection<Statement: PostgresPreparedStatement>(_ operation: String, _ statement: Statement) async throws -> [Statement.Row] where Statement.Row: Sendable {
        let (connection, open) = enqueueConnection.take()
        guard let connection else {
            let rows: [Statement.Row]
            do {
                rows = try await execute(operation, statement)
            } catch {
                // The open this caller took on is not made: the next caller may try again later.
                if open { _ = enqueueConnection.opened(nil) }
                throw error
            }
            if open { await openEnqueueConnection() }
            return rows
        }
        let rows: [Statement.Row]
        do {
            rows = try await connection.executeIfOpen(statement, logger: logger)
        } catch {
            try? await connection.close()
            throw PostgresErrors.wrap(error, configuration: configuration, operation: operation)
        }
        if !enqueueConnection.putBack(connection) { try? await connection.close() }
        return rows
    }

    /// Opens the enqueue connection (after the caller's own statement, so it never delays it).
    private func openEnqueueConnection() async {
        let connection = try? await connectDirectly(startupParameters: [("search_path", configuration.schema), ("application_name", "surety")])
        if !enqueueConnection.opened(connection), let connection { try? await connection.close() }
    }
}

extension PostgresStore {
    /// The server process of the store's enqueue connection when it is idle (for tests).
    func enqueueConnectionBackendPID() async throws -> Int32? {
        guard let connection = enqueueConnection.take(mayOpen: false).connection else { return nil }
        do {
            let pid = try await connection.queryIfOpen("SELECT pg_backend_pid()", logger: logger).collect { try $0[0].decode(Int32.self) }.first
            if !enqueueConnection.putBack(connection) { try? await connection.close() }
            return pid
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
