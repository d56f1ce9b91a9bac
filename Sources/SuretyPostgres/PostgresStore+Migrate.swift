import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    /// Creates the schema if needed and applies the migrations not yet recorded in
    /// `surety_migrations`, in one transaction under a transaction-scoped advisory lock, so
    /// several nodes may start (and migrate) at once. Safe to call on every start.
    ///
    /// - Throws: `SuretyError` `storeUnavailable` when the server cannot be reached or
    ///   refuses the login, `storeCorrupt` when the schema was migrated by a newer version of
    ///   Surety.
    public func migrate() async throws {
        let schema = configuration.schema
        // Not limited by operationTimeout: a migration of a large table may take long.
        try await transaction("migrate", limited: false) { [self] connection in
            try await connection.queryIfOpen("SELECT pg_advisory_xact_lock(\(Migrations.lockKey))", logger: logger)
            // Identifiers cannot be bound; the schema name was validated (a-z, 0-9, _) and is quoted.
            try await connection.queryIfOpen(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
            try await connection.queryIfOpen(PostgresQuery(unsafeSQL: Migrations.createMigrationsTable), logger: logger)
            let applied = try await connection.queryIfOpen("SELECT identifier FROM surety_migrations", logger: logger)
                .collect { try $0[0].decode(String.self) }
            let known = Set(Migrations.all.map(\.identifier))
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw SuretyError(
                    .storeCorrupt,
                    "schema '\(schema)' was migrated by a newer version of Surety (migration '\(unknown)'); upgrade this program before using it"
                )
            }
            for migration in Migrations.all where !applied.contains(migration.identifier) {
                for statement in migration.statements {
                    try await connection.queryIfOpen(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.queryIfOpen("INSERT INTO surety_migrations (identifier) VALUES (\(migration.identifier))", logger: logger)
            }
        }
    }

    /// Whether ``Configuration/schema`` holds a Surety store (its migrations table exists), so
    /// read-only tools can refuse a wrong schema instead of creating one.
    public func isMigrated() async throws -> Bool {
        let table = "\(configuration.schema).surety_migrations"
        return try await query("read the schema", "SELECT to_regclass(\(table)) IS NOT NULL") { rows in
            try await rows.collect { try $0[0].decode(Bool.self) }.first ?? false
        }
    }
}
