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

    /// `execute(_:logger:)` of a prepared statement, refusing a closed connection the same way.
    func executeIfOpen<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        guard !isClosed else { throw Self.closedBeforeQuery }
        var rows: [Statement.Row] = []
        for try await row in try await self.execute(statement, logger: logger, file: file, line: line) { rows.append(row) }
        return rows
    }

    static let closedBeforeQuery = SuretyError(
        .storeUnavailable,
        "the connection to the PostgreSQL server was closed before the statement was sent (the server went away or restarted); retry"
    )
}
