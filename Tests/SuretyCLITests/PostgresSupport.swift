import Foundation
import PostgresNIO
import Surety
import SuretyPostgres
import Testing

/// The PostgreSQL server the CLI tests use: `SURETY_TEST_POSTGRES_URL` (scripts/test starts one).
/// Without it the PostgreSQL CLI tests are skipped, except under CI (`CI=true`), where they run
/// and fail: CI never passes without them.
enum PGServer {
    static let url = ProcessInfo.processInfo.environment["SURETY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let enabled = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    static func requireURL() throws -> String {
        guard let url else { throw CLITestError("PostgreSQL is required under CI; scripts/test starts it (set SURETY_TEST_POSTGRES_URL)") }
        return url
    }

    /// A schema name no other test uses.
    static func freshSchema() -> String { "cli_" + String(UInt64.random(in: 0...UInt64.max), radix: 16) }

    /// The store URL `surety` gets for `schema`.
    static func storeURL(schema: String) throws -> String {
        let base = try requireURL()
        return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
    }

    /// Runs `body` with a fresh schema's store URL and a store on it in this process (migrated),
    /// and drops the schema afterwards.
    static func withFreshSchema<T: Sendable>(_ body: (String, PostgresStore) async throws -> T) async throws -> T {
        let schema = freshSchema()
        var configuration = try PostgresStore.Configuration(url: try requireURL(), schema: schema)
        configuration.maximumConnections = 4
        let url = try storeURL(schema: schema)
        return try await PostgresStore.withStore(configuration: configuration) { store in
            try await store.migrate()
            do {
                let value = try await body(url, store)
                try await drop(store)
                return value
            } catch {
                try? await drop(store)
                throw error
            }
        }
    }

    static func drop(_ store: PostgresStore) async throws {
        // The schema name was validated (a-z, 0-9, _).
        try await store.client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(store.configuration.schema)\" CASCADE"))
    }
}
