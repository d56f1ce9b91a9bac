import GRDB
import GRDBSQLite

/// Binds and steps the hot path's cached statements (enqueue, claim, finish) through SQLite's C
/// API, and reads their rows column by column.
///
/// Why not GRDB's `execute(arguments:)` and `Row` here: profiles of the worker's drain and of
/// one-at-a-time enqueues (docs/benchmarks.md) showed GRDB's per-call generic work costing more
/// than SQLite itself on these statements. Building `StatementArguments` from `[DatabaseValue]`
/// instantiates a key path at run time (demangling included) and projects every value through
/// it, and each `Row` column decodes through protocol witnesses. GRDB still opens, pools,
/// migrates, caches the prepared statements and runs the transactions; only the binding and
/// stepping of these few statements is direct. Every other statement of the store goes through
/// GRDB as before.
///
/// One consequence, documented in docs/architecture.md: GRDB transaction observers
/// (`ValueObservation`) are not told about these statements' changes. Surety itself observes
/// nothing through GRDB; applications that watch Surety's tables should poll or subscribe to
/// ``SQLiteStore/availabilitySignals()``.
struct DirectStatement {
    let statement: Statement
    let db: Database

    /// The cached statement for `sql` on `db` (compiled once per connection by GRDB).
    init(_ sql: String, _ db: Database) throws {
        self.statement = try db.cachedStatement(sql: sql)
        self.db = db
    }

    private var handle: OpaquePointer { statement.sqliteStatement }

    /// Binds `values` to parameters 1...count, after a reset (SQLite copies strings: TRANSIENT).
    func bind(_ values: [DatabaseValue]) {
        sqlite3_reset(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value.storage {
            case .null: sqlite3_bind_null(handle, index)
            case .int64(let int): sqlite3_bind_int64(handle, index, int)
            case .double(let double): sqlite3_bind_double(handle, index, double)
            case .string(let string): sqlite3_bind_text(handle, index, string, -1, Self.transient)
            case .blob(let data):
                _ = data.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
                }
            }
        }
    }

    /// Runs the statement with `values`, calling `row` for each result row.
    func forEachRow(_ values: [DatabaseValue], _ row: (Columns) throws -> Void) throws {
        bind(values)
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_ROW {
                try row(Columns(handle: handle))
            } else if code == SQLITE_DONE {
                return
            } else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) },
                    sql: statement.sql
                )
            }
        }
    }

    /// Runs the statement with `values`; returns the number of rows it changed.
    @discardableResult
    func execute(_ values: [DatabaseValue]) throws -> Int {
        try forEachRow(values) { _ in }
        return Int(sqlite3_changes(db.sqliteConnection))
    }

    /// The columns of the current result row, read by 0-based index.
    struct Columns {
        let handle: OpaquePointer

        func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

        func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

        func int(_ index: Int32) -> Int { Int(sqlite3_column_int64(handle, index)) }

        func int64IfPresent(_ index: Int32) -> Int64? { isNull(index) ? nil : int64(index) }

        func string(_ index: Int32) -> String {
            guard let text = sqlite3_column_text(handle, index) else { return "" }
            let count = Int(sqlite3_column_bytes(handle, index))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        }

        func stringIfPresent(_ index: Int32) -> String? { isNull(index) ? nil : string(index) }
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
