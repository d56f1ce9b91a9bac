import Foundation
import PostgresNIO
import Surety

/// Turns postgres-nio errors into ``Surety/SuretyError``s with a message that says what happened
/// and what to do, and never contains the password. The original error stays in `underlying`
/// (shown by `debugDescription`).
enum PostgresErrors {
    /// The reachability probe did not connect in time.
    struct ConnectTimeout: Error, CustomStringConvertible {
        var duration: Duration
        var description: String { "no connection within \(duration)" }
    }

    /// The schema's Surety tables are missing a transaction retry could fix (a concurrent
    /// unique-key holder disappeared between two statements).
    struct Retry: Error {}

    static func wrap(_ error: any Error, configuration: PostgresStore.Configuration, operation: String) -> any Error {
        if error is SuretyError || error is CancellationError || error is Retry { return error }
        let server = "the PostgreSQL server at \(configuration.host):\(configuration.port)"
        let target = "database '\(configuration.database)' as user '\(configuration.username)'"
        if let timeout = error as? ConnectTimeout {
            return SuretyError(
                .storeUnavailable,
                "\(operation): could not connect to \(server) within \(timeout.duration); check that it runs and that host and port are right",
                underlying: SafeError(description: timeout.description)
            )
        }
        if let error = error as? PSQLError {
            return map(error, server: server, target: target, configuration: configuration, operation: operation)
        }
        if isPoolShutdown(error) {
            return closedConnection(.poolClosed, server: server, operation: operation, underlying: SafeError(description: String(describing: error)))
        }
        if error is PostgresDecodingError {
            return SuretyError(
                .storeCorrupt,
                "\(operation): a row in schema '\(configuration.schema)' does not have the expected types; the Surety tables were changed by hand or by another program",
                underlying: SafeError(description: String(describing: error))
            )
        }
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("connection refused") || text.localizedCaseInsensitiveContains("connect") {
            return SuretyError(.storeUnavailable, "\(operation): cannot connect to \(server) (\(scrub(text, configuration))); check that it runs and that host and port are right", underlying: SafeError(description: scrub(text, configuration)))
        }
        return SuretyError(.storeUnavailable, "\(operation) failed on \(server)", underlying: SafeError(description: scrub(text, configuration)))
    }

    /// A server error answers a statement the server refused, whose transaction it rolled back:
    /// nothing of it was written (``Surety/SuretyError/nothingWritten``), so a group write that
    /// failed so may be retried call by call. The commit barrier's own failures never get here
    /// as server errors (see `executeIfOpen`): after a write, they leave its commit unknown.
    static func map(_ error: PSQLError, server: String, target: String, configuration: PostgresStore.Configuration, operation: String) -> SuretyError {
        var mapped = describe(error, server: server, target: target, configuration: configuration, operation: operation)
        if error.code == .server { mapped.nothingWritten = true }
        return mapped
    }

    static func describe(_ error: PSQLError, server: String, target: String, configuration: PostgresStore.Configuration, operation: String) -> SuretyError {
        let sqlState = error.serverInfo?[.sqlState] ?? ""
        let serverMessage = error.serverInfo?[.message].map { scrub($0, configuration) }
        let underlying = SafeError(description: "PSQLError(\(error.code)\(sqlState.isEmpty ? "" : ", sqlstate \(sqlState)")\(serverMessage.map { ": \($0)" } ?? ""))")
        switch error.code {
        case .server:
            switch sqlState {
            case "28P01", "28000":
                return SuretyError(.storeUnavailable, "\(operation): \(server) refused the login to \(target): wrong password or user, or no pg_hba.conf entry for this client", underlying: underlying)
            case "3D000":
                return SuretyError(.storeUnavailable, "\(operation): \(server) has no database '\(configuration.database)'; create it (createdb) or fix the URL", underlying: underlying)
            case "42P01", "42703":
                return SuretyError(.storeCorrupt, "\(operation): schema '\(configuration.schema)' has no (or an older) Surety schema; run `surety migrate` or call migrate() first", underlying: underlying)
            case "57P03", "53300", "57P01", "57P02":
                return SuretyError(.storeUnavailable, "\(operation): \(server) is not accepting connections now (\(serverMessage ?? sqlState)); retry later", underlying: underlying)
            case "42501":
                return SuretyError(.storeUnavailable, "\(operation): user '\(configuration.username)' lacks a permission in schema '\(configuration.schema)' (\(serverMessage ?? sqlState))", underlying: underlying)
            // The caller's value, not the store: a NUL character (U+0000) in text or jsonb, or a
            // value too large for an index (a queue name, key or name over about 2,700 bytes).
            case "22021", "22P05":
                return SuretyError(.invalidArgument, "\(operation): a value contains a NUL character (U+0000), which PostgreSQL cannot store as text; remove it", underlying: underlying)
            case "54000":
                return SuretyError(.invalidArgument, "\(operation): a value is too large for the store (\(serverMessage ?? sqlState)); names and keys must stay well below 2,700 bytes", underlying: underlying)
            default:
                return SuretyError(.storeUnavailable, "\(operation) failed on \(server): \(serverMessage ?? "server error \(sqlState)")", underlying: underlying)
            }
        case .connectionError:
            let reason = error.underlying.map { scrub(String(describing: $0), configuration) } ?? "connection failed"
            return SuretyError(.storeUnavailable, "\(operation): cannot connect to \(server) (\(reason)); check that it runs and that host and port are right", underlying: underlying)
        case .sslUnsupported:
            return SuretyError(.storeUnavailable, "\(operation): \(server) does not support TLS; remove sslmode=require from the URL or enable ssl on the server", underlying: underlying)
        case .authMechanismRequiresPassword:
            return SuretyError(.storeUnavailable, "\(operation): \(server) asks for a password for user '\(configuration.username)'; put it in the URL (postgres://user:password@host/db)", underlying: underlying)
        case .unsupportedAuthMechanism, .saslError:
            return SuretyError(.storeUnavailable, "\(operation): the login to \(server) as '\(configuration.username)' failed (authentication)", underlying: underlying)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return closedConnection(error.code, server: server, operation: operation, underlying: underlying)
        default:
            return SuretyError(.storeUnavailable, "\(operation) failed on \(server) (\(error.code))", underlying: underlying)
        }
    }

    /// A closed connection says two different things. `.poolClosed`: this store's pool was shut
    /// down because its `run()` (or the `withStore` around it) ended, and the store is used after
    /// that: a usage mistake that no retry fixes. The others: the server or the network ended the
    /// connection (a restart, a failover, a reset): an outage, which a worker rides out by
    /// retrying its calls.
    static func closedConnection(_ code: PSQLError.Code, server: String, operation: String, underlying: SafeError?) -> SuretyError {
        if code == .poolClosed {
            return SuretyError(.storeUnavailable, "\(operation): the store's connection pool is shut down: its run() (or withStore) has ended; use the store only while run() runs", underlying: underlying)
        }
        return SuretyError(.storeUnavailable, "\(operation): the connection to \(server) was closed (\(code)), for example by a server restart or a network failure; workers retry the call, other callers may retry once the server is back", underlying: underlying)
    }

    /// postgres-nio's pool throws its own `ConnectionPoolError.poolShutdown` (not a `PSQLError`)
    /// to a call made after `PostgresClient.run()` ended. Its module is not a dependency of
    /// this one, so it is recognised by its type name and description.
    static func isPoolShutdown(_ error: any Error) -> Bool {
        String(describing: type(of: error)) == "ConnectionPoolError" && String(describing: error).contains("poolShutdown")
    }

    /// A later step's job is inserted when its last parent completes, in the transaction that
    /// records that parent's outcome: a value PostgreSQL refuses there (a NUL character, a queue
    /// name and partition key too large for the claim indexes) would fail that outcome on every
    /// attempt. Refused when the workflow is enqueued instead (issue 17).
    static func refuseUnreleasable(_ workflow: NewWorkflow) throws {
        for (index, step) in workflow.steps.enumerated() {
            let job = step.template
            let texts = [job.type, job.queue, job.payload, job.partitionKey ?? ""] + job.tags
                + job.correlation.flatMap { [$0.key, $0.value] } + job.traceContext.flatMap { [$0.key, $0.value] }
            if texts.contains(where: { $0.utf8.contains(0) }) {
                throw SuretyError(.invalidArgument, "enqueueWorkflow: the job of step \(index + 1) contains a NUL character (U+0000), which PostgreSQL cannot store as text; remove it")
            }
            if job.queue.utf8.count + (job.partitionKey?.utf8.count ?? 0) > 2_000 {
                throw SuretyError(.invalidArgument, "enqueueWorkflow: the queue name and partition key of step \(index + 1)'s job take more than 2,000 bytes, too large for the store's indexes")
            }
        }
    }

    /// Removes the password from a text, should a lower layer ever quote it.
    static func scrub(_ text: String, _ configuration: PostgresStore.Configuration) -> String {
        guard let password = configuration.password, !password.isEmpty else { return text }
        return text.replacingOccurrences(of: password, with: "***")
    }

    /// The underlying error as a safe text (PSQLError carries the query and its bindings).
    struct SafeError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        var description: String
        var debugDescription: String { description }
    }
}
