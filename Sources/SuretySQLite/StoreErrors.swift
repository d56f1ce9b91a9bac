import Foundation
import GRDB
import Surety

/// Turns SQLite and GRDB errors into ``SuretyError``s with a message that says what happened
/// and what to do. The original error stays in `underlying` (shown by `debugDescription`).
enum StoreErrors {
    static func wrap(_ error: any Error, path: String, operation: String) -> any Error {
        if let application = error as? ApplicationError { return application.error }
        if error is SuretyError || error is CancellationError { return error }
        if let error = error as? DatabaseError {
            return map(error, path: path, operation: operation)
        }
        if error is RowDecodingError {
            return SuretyError(
                .storeCorrupt,
                "\(operation): a row in '\(path)' does not have the expected types; the Surety tables were changed by hand or by another program",
                underlying: error
            )
        }
        return SuretyError(.storeUnavailable, "\(operation) failed on the SQLite store at '\(path)'", underlying: error)
    }

    static func map(_ error: DatabaseError, path: String, operation: String) -> SuretyError {
        switch error.resultCode {
        case .SQLITE_NOTADB:
            return SuretyError(
                .storeCorrupt,
                "'\(path)' is not a SQLite database (or is encrypted); point the store at a new file, or restore this one from a backup",
                underlying: error
            )
        case .SQLITE_CORRUPT:
            return SuretyError(
                .storeCorrupt,
                "the SQLite database '\(path)' is damaged; restore it from a backup (or try `sqlite3 \(path) .recover`)",
                underlying: error
            )
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return SuretyError(
                .storeUnavailable,
                "\(operation): the SQLite database '\(path)' stayed locked by another connection for longer than the busy timeout; retry, or raise Configuration.busyTimeout",
                underlying: error
            )
        case .SQLITE_CANTOPEN:
            return SuretyError(
                .storeUnavailable,
                "cannot open the SQLite database '\(path)'; check that its folder exists and is writable",
                underlying: error
            )
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            return SuretyError(
                .storeUnavailable,
                "\(operation): the SQLite database '\(path)' is read-only or not permitted; check the file's and folder's permissions",
                underlying: error
            )
        case .SQLITE_FULL:
            return SuretyError(.storeUnavailable, "\(operation): the disk holding '\(path)' is full", underlying: error)
        case .SQLITE_IOERR:
            return SuretyError(.storeUnavailable, "\(operation): an I/O error occurred on '\(path)'", underlying: error)
        default:
            if let message = error.message, message.hasPrefix("no such table") || message.hasPrefix("no such column") {
                return SuretyError(
                    .storeCorrupt,
                    "\(operation): the SQLite database '\(path)' has no (or an older) Surety schema; run `surety migrate --store sqlite:\(path)` or call migrate() first",
                    underlying: error
                )
            }
            return SuretyError(.storeUnavailable, "\(operation) failed on the SQLite store at '\(path)'", underlying: error)
        }
    }
}
