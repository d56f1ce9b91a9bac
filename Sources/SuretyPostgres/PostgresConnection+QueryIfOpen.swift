import Logging
import PostgresNIO
import Surety

extension PostgresConnection {
    /// `query(_:logger:)` that refuses a connection the server has already closed.
    ///
    /// postgres-nio 1.33 writes a query to its channel with no write promise: once a closed
    /// channel has dropped its handlers, the query is discarded and its answer never comes, so
    /// the caller (and the pool lease it holds) would wait forever. That happened here when the
    /// server went away between two statements of one transaction (BEGIN answered, the next
    /// statement sent 6 ms after the server's goodbye), and it hung the worker's completion path.
    /// A query sent while the connection is open is failed properly by postgres-nio when the
    /// connection closes, so checking right before each write leaves only the few instructions
    /// between the check and the write as a window. Every statement Surety sends goes through here.
    @discardableResult
    func queryIfOpen(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        guard !isClosed else { throw Self.closedBeforeQuery }
        return try await self.query(query, logger: logger, file: file, line: line)
    }

    /// `execute(_:logger:)` of a prepared statement that writes, refusing a closed connection the
    /// same way, and returning only once the statement's implicit transaction has committed.
    ///
    /// A statement outside `BEGIN`/`COMMIT` commits when the server handles the `Sync` after it,
    /// after it has already queued the statement's rows and `CommandComplete`; postgres-nio ends
    /// the row stream at `CommandComplete`. A server stopped at that moment (`pg_ctl -m
    /// immediate`) flushes those messages as it dies without committing, so the caller would
    /// see rows of a claim, an enqueue or a finish that never became durable: the restart test
    /// caught a claim that was lost after its jobs ran, so they ran again with no trace. A second
    /// tiny statement on the same connection (``CommitBarrier``) is sent only after the server's
    /// `ReadyForQuery` for the first, that is after its commit; if the connection dies first, the
    /// call fails and the caller treats the write as not done (a claim's jobs are not run; an
    /// enqueue is reported failed; an outcome is written again, fenced by its lease token).
    func executeIfOpen<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        guard !isClosed else { throw Self.closedBeforeQuery }
        var rows: [Statement.Row] = []
        for try await row in try await self.execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
        try await confirmCommit(logger: logger, file: file, line: line)
        return rows
    }

    /// `queryIfOpen` of a statement that writes in its own implicit transaction, decoding each
    /// row with `decode`, and returning only once the commit is confirmed (the commit barrier,
    /// as in ``executeIfOpen(_:logger:file:line:)``).
    func queryIfOpenConfirmed<Row>(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line,
        decode: (PostgresRandomAccessRow, inout JSONColumns.DecodingCache) throws -> Row
    ) async throws -> [Row] {
        var json = JSONColumns.DecodingCache()
        let rows = try await queryIfOpen(query, logger: logger, file: file, line: line).collect { row in try decode(row, &json) }
        try await confirmCommit(logger: logger, file: file, line: line)
        return rows
    }

    /// Returns once the implicit transaction of the statement just run has committed (the commit
    /// barrier, ``CommitBarrier``); throws ``closedBeforeCommitConfirmed`` otherwise.
    private func confirmCommit(logger: Logger, file: String, line: Int) async throws {
        guard !isClosed else { throw Self.closedBeforeCommitConfirmed }
        do {
            for try await _ in try await self.execute(CommitBarrier(), logger: logger, file: file, line: line) {}
        } catch {
            // Whatever the barrier's error (a closed connection, the server's "terminating
            // connection"), the write before it may have committed: its outcome is unknown.
            throw Self.closedBeforeCommitConfirmed
        }
    }

    static let closedBeforeCommitConfirmed = SuretyError(
        .storeUnavailable,
        "the connection to the PostgreSQL server was closed before the statement's commit was confirmed (the server went away or restarted); retry"
    )

    static let closedBeforeQuery = SuretyError(
        .storeUnavailable,
        "the connection to the PostgreSQL server was closed before the statement was sent (the server went away or restarted); retry"
    )
}

/// `SELECT 1`, prepared: sent after a write to learn that the write's implicit transaction
/// committed (see ``PostgresConnection/executeIfOpen(_:logger:file:line:)``).
struct CommitBarrier: PostgresPreparedStatement {
    static let name = "surety_commit_barrier_v1"
    static let sql = "SELECT 1"
    typealias Row = ()
    func makeBindings() throws -> PostgresBindings { PostgresBindings() }
    func decodeRow(_ row: PostgresRow) throws {}
}
