import Foundation
import Surety

extension PostgresStore {
    /// Where the store connects and how. Build one from a URL with ``init(url:schema:)``
    /// (`?schema=NAME` in the URL names the schema).
    ///
    /// The password is kept for connecting only: it never appears in an error message or a
    /// `description`.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// Whether the connection is encrypted.
        public enum TLSMode: String, Sendable, Hashable {
            /// Plain TCP (the default: `sslmode` absent, `disable`, `allow` or `prefer`).
            case disable
            /// TLS with certificate verification (`sslmode=require`, `verify-ca`, `verify-full`).
            case require
        }

        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var tls: TLSMode
        /// The PostgreSQL schema that holds the Surety tables (created by ``PostgresStore/migrate()``
        /// if needed). Lower-case letters, digits and `_`, starting with a letter or `_`, at most
        /// 63 characters.
        public var schema: String
        /// How long establishing a connection (TCP and authentication) may take before the call
        /// fails with `storeUnavailable`.
        public var connectTimeout: Duration
        /// The size of the connection pool. The store holds a few more of its own: one for
        /// LISTEN (in a process with a worker), one for enqueues of jobs without unique keys, and
        /// one for maintenance leadership (while it runs retention, rescue or schedules).
        /// Default: 20.
        public var maximumConnections: Int
        /// How long queue limits (`QueueLimits`) read from the database are used before
        /// claims and enqueues read them again: a change made on another node applies within this
        /// interval (at once on the node that made it). Default: 1 second.
        public var limitsRefreshInterval: Duration = .seconds(1)
        /// Whose clock lease deadlines are kept on. Default: ``LeaseClock/database``, so nodes
        /// whose clocks disagree never rescue each other's healthy jobs.
        public var leaseClock: LeaseClock = .database
        /// How long one store call may hold a pooled connection. Past it the store closes that
        /// connection, which fails the call with `storeUnavailable` (its transaction, if any, is
        /// rolled back by the server), and the caller retries as after any outage. Enqueues and
        /// effect-ledger writes (group commits, partly on a connection of the store's own) stop
        /// waiting after it and report `storeUnavailable` with an unknown outcome. It bounds the
        /// calls that would otherwise wait for ever: after a connection reset a claim was seen to
        /// wait for an answer that never came (PartitionTests), and an enqueue after its
        /// connection was terminated (EnqueueConnectionTests). `nil`: no limit. Migrations are
        /// never limited. Default: 60 seconds.
        public var operationTimeout: Duration? = .seconds(60)

        public init(
            host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
            tls: TLSMode = .disable, schema: String = "public", connectTimeout: Duration = .seconds(5),
            maximumConnections: Int = 20
        ) throws {
            guard !host.isEmpty else { throw SuretyError(.invalidStoreURL, "a PostgreSQL store needs a host") }
            guard (1...65535).contains(port) else {
                throw SuretyError(.invalidStoreURL, "the PostgreSQL port must be between 1 and 65535, got \(port)")
            }
            guard !username.isEmpty else { throw SuretyError(.invalidStoreURL, "a PostgreSQL store needs a user name (postgres://USER@host/db)") }
            guard !database.isEmpty else { throw SuretyError(.invalidStoreURL, "a PostgreSQL store needs a database name (postgres://user@host/DATABASE)") }
            try Self.validate(schema: schema)
            guard connectTimeout > .zero else { throw SuretyError(.invalidArgument, "PostgresStore.Configuration.connectTimeout must be positive") }
            guard maximumConnections >= 2 else {
                throw SuretyError(.invalidArgument, "PostgresStore.Configuration.maximumConnections must be at least 2 (one is used for LISTEN), got \(maximumConnections)")
            }
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.schema = schema
            self.connectTimeout = connectTimeout
            self.maximumConnections = maximumConnections
        }

        /// Parses `postgres://user:password@host:port/database?schema=NAME&sslmode=require` (also
        /// `postgresql://`), the URL `surety --store` takes. The port defaults to 5432, the user
        /// to `postgres`. Percent-encoded user names and passwords are decoded.
        ///
        /// The schema comes from the URL's `schema` parameter or from `schema`; given in both, they
        /// must be the same; given in neither, it is `public`.
        ///
        /// - Throws: `SuretyError` `invalidStoreURL` with a message that never contains
        ///   the password: also for a `schema` parameter that is repeated, empty or not a valid
        ///   name, and for a `schema` argument that differs from it. `invalidArgument` for an
        ///   invalid `schema` argument.
        public init(url: String, schema: String? = nil) throws {
            guard let components = URLComponents(string: url),
                  let scheme = components.scheme?.lowercased() else {
                throw SuretyError(.invalidStoreURL, "'\(Self.redact(url))' is not a PostgreSQL URL; expected postgres://user:password@host:port/database")
            }
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw SuretyError(.invalidStoreURL, "'\(Self.redact(url))' is not a PostgreSQL URL (scheme '\(scheme)'); expected postgres://user:password@host:port/database")
            }
            guard let host = components.host, !host.isEmpty else {
                throw SuretyError(.invalidStoreURL, "'\(Self.redact(url))' names no host; expected postgres://user:password@host:port/database")
            }
            var database = components.path
            if database.hasPrefix("/") { database.removeFirst() }
            guard !database.isEmpty, !database.contains("/") else {
                throw SuretyError(.invalidStoreURL, "'\(Self.redact(url))' names no database; expected postgres://user:password@host:port/database")
            }
            let urlSchema = try Self.schemaParameter(in: components)
            if let urlSchema {
                do {
                    try Self.validate(schema: urlSchema)
                } catch let error as SuretyError {
                    throw SuretyError(.invalidStoreURL, "the PostgreSQL URL's schema parameter: \(error.message)")
                }
                if let schema, schema != urlSchema {
                    throw SuretyError(.invalidStoreURL, "the PostgreSQL URL names schema '\(urlSchema)' but the schema argument is '\(schema)'; name the schema in one place only")
                }
            }
            var tls = TLSMode.disable
            for item in components.queryItems ?? [] where item.name == "sslmode" {
                switch item.value ?? "" {
                case "disable", "allow", "prefer": tls = .disable
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw SuretyError(.invalidStoreURL, "unsupported sslmode '\(item.value ?? "")' in the PostgreSQL URL; use disable or require")
                }
            }
            try self.init(
                host: host, port: components.port ?? 5432,
                username: components.percentEncodedUser.map { $0.removingPercentEncoding ?? $0 } ?? "postgres",
                password: components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 },
                database: database.removingPercentEncoding ?? database, tls: tls, schema: urlSchema ?? schema ?? "public"
            )
        }

        /// The value of the URL's `schema` parameter, `nil` without one. Refuses a repeated or an
        /// empty parameter; the name itself is checked by ``validate(schema:)``.
        static func schemaParameter(in components: URLComponents) throws -> String? {
            let items = (components.queryItems ?? []).filter { $0.name == "schema" }
            guard let item = items.first else { return nil }
            guard items.count == 1 else {
                throw SuretyError(.invalidStoreURL, "the PostgreSQL URL names more than one schema (\(items.count) schema parameters); give ?schema=NAME once")
            }
            guard let value = item.value, !value.isEmpty else {
                throw SuretyError(.invalidStoreURL, "the PostgreSQL URL's schema parameter is empty; expected ?schema=NAME")
            }
            return value
        }

        /// `url` without its `schema` parameter (the other parameters kept, in order), for a tool
        /// that keeps the schema apart from the connection URL, as the `surety` CLI does. A URL
        /// that does not parse is returned unchanged.
        public static func removingSchemaParameter(from url: String) -> String {
            guard var components = URLComponents(string: url), let items = components.queryItems else { return url }
            let rest = items.filter { $0.name != "schema" }
            guard rest.count != items.count else { return url }
            components.queryItems = rest.isEmpty ? nil : rest
            return components.string ?? url
        }

        /// `postgres://user@host:port/database` (no password), with the schema.
        public var description: String {
            "postgres://\(username)@\(host):\(port)/\(database) (schema \(schema))"
        }

        static func validate(schema: String) throws {
            let allowed = schema.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            }
            guard let first = schema.utf8.first, allowed, schema.utf8.count <= 63,
                  !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                throw SuretyError(.invalidArgument, "the PostgreSQL schema name '\(schema)' is not allowed: use lower-case letters, digits and '_', starting with a letter, at most 63 characters")
            }
        }

        /// `url` with its password replaced by `***`, safe to print.
        public static func redacted(_ url: String) -> String { redact(url) }

        /// The URL with its password replaced, for error messages.
        static func redact(_ url: String) -> String {
            guard var components = URLComponents(string: url), components.password != nil else {
                // Unparseable: keep only what is before any '@' credentials.
                if let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") {
                    return String(url[..<scheme.upperBound]) + "***" + String(url[at...])
                }
                return url
            }
            components.password = "***"
            return components.string ?? "postgres://***"
        }
    }
}

extension PostgresStore {
    /// Whose clock lease deadlines are written and judged with (review item 2).
    public enum LeaseClock: String, Sendable, Hashable {
        /// The database server's clock: a claim or heartbeat sets `lease_until` to the server's
        /// time plus the lease duration (the caller's `leaseUntil - now`), and the rescuer finds
        /// and takes back leases that expired by the server's time, whatever its own clock says.
        /// Nodes need no clock agreement for leases. The default.
        case database
        /// The callers' clocks, as passed in (`ClaimRequest.leaseUntil`, heartbeat `until`, the
        /// rescuer's `now`). Right for one node, and for tests that drive time with a test
        /// clock; on several nodes a clock off by more than the lease minus the heartbeat
        /// interval makes healthy jobs look expired.
        case caller
    }
}
