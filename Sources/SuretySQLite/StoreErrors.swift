import Foundation
import GRDB
import Surety

/// Turns SQLite and GRDB errors into ``SuretyError``s with a message that says what happened
/// and what to do. The original error stays in `underlying` (shown by `debugDescription`).
enum StoreErrors {
    /// Refuses a NUL character (U+0000) in text the store keeps or looks up, before anything is
    /// written: SQLite's C API (and GRDB's binding) ends text at it, so the rest would be lost
    /// without a word and two values that differ after it would be one (issue 17). The client
    /// (`JobQueue`) and PostgreSQL refuse it with the same code.
    static func refuseNUL(_ texts: [String?], _ what: @autoclosure () -> String) throws {
        for case let text? in texts where text.utf8.contains(0) {
            throw SuretyError(.invalidArgument, "\(what()) contains a NUL character (U+0000), which the SQLite store cannot keep as text; remove it")
        }
    }

    /// ``refuseNUL(_:_:)`` for an effect's name and key.
    static func refuseNUL(in key: EffectKey) throws {
        try refuseNUL([key.name, key.key], "the effect's name or key")
    }

    /// ``refuseNUL(_:_:)`` for a workflow's names, its unique key and every step's job.
    static func refuseNUL(in workflow: NewWorkflow) throws {
        try refuseNUL([workflow.name, workflow.uniqueKey], "the workflow's name or unique key")
        for step in workflow.steps {
            try refuseNUL([step.name] + step.parents, "a workflow step's name")
            try refuseNUL(in: step.template.newJob(tenant: workflow.tenant, workflow: WorkflowID(0), step: "", now: workflow.createdAt))
        }
    }

    /// ``refuseNUL(_:_:)`` for every text of a job.
    static func refuseNUL(in job: NewJob) throws {
        try refuseNUL([job.type], "the job type")
        try refuseNUL([job.queue], "the queue name")
        try refuseNUL([job.payload], "the payload")
        try refuseNUL([job.uniqueKey], "the unique key")
        try refuseNUL([job.partitionKey], "the partition key")
        try refuseNUL(job.tags, "a tag")
        try refuseNUL(Array(job.correlation.keys) + Array(job.correlation.values), "a correlation id")
        try refuseNUL(Array(job.traceContext.keys) + Array(job.traceContext.values), "the trace context")
    }

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
