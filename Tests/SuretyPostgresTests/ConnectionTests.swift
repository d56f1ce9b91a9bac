import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import Testing

@Suite("PostgreSQL store: URLs and connection errors")
struct ConnectionTests {
    @Test("URLs are parsed; the password never shows in a description")
    func parsesURLs() throws {
        let full = try PostgresStore.Configuration(url: "postgres://app:s%40cret@db.internal:6543/jobs?sslmode=require", schema: "surety")
        #expect(full.host == "db.internal" && full.port == 6543 && full.username == "app" && full.password == "s@cret")
        #expect(full.database == "jobs" && full.tls == .require && full.schema == "surety")
        #expect(!full.description.contains("cret"))
        let short = try PostgresStore.Configuration(url: "postgresql://localhost/jobs")
        #expect(short.port == 5432 && short.username == "postgres" && short.password == nil && short.tls == .disable && short.schema == "public")
    }

    @Test("bad URLs and schema names are refused with a clear error", arguments: [
        "mysql://app:pw-hidden@db/jobs", "postgres://app:pw-hidden@db", "not a url", "postgres:///jobs",
        "postgres://app:pw-hidden@db/jobs?sslmode=bogus",
    ])
    func refusesBadURLs(url: String) throws {
        let error = #expect(throws: SuretyError.self) { try PostgresStore.Configuration(url: url) }
        #expect(error?.code == .invalidStoreURL)
        #expect(error.map { !$0.description.contains("pw-hidden") } == true, "the password leaked: \(String(describing: error))")
    }

    @Test("schema names are validated", arguments: ["", "Public", "a-b", "1abc", "x\"; DROP TABLE y; --", String(repeating: "a", count: 64)])
    func refusesBadSchemas(schema: String) throws {
        let error = #expect(throws: SuretyError.self) { try PostgresStore.Configuration(url: "postgres://u@h/db", schema: schema) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("an unreachable port fails fast with storeUnavailable")
    func unreachablePort() async throws {
        let error = await #expect(throws: SuretyError.self) {
            try await withStartupBound {
                try await PostgresStore.withStore(url: "postgres://postgres:pw-hidden@127.0.0.1:1/surety_test", schema: "t_unreachable") { store in
                    try await store.migrate()
                }
            }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error.map { $0.description.contains("127.0.0.1:1") && !$0.description.contains("pw-hidden") } == true, "\(String(describing: error))")
    }

    @Test("an unroutable host fails within the connect timeout")
    func connectTimeout() async throws {
        // 10.255.255.1 is normally unroutable: the TCP connect hangs until the timeout fires (or
        // the network refuses at once; both must end quickly with storeUnavailable).
        let configuration = try PostgresStore.Configuration(
            host: "10.255.255.1", port: 5432, username: "postgres", database: "surety_test", schema: "t_timeout",
            connectTimeout: .seconds(1)
        )
        // No wall-clock race: the error says what happened (the 1 s connect timeout fired, or the
        // network refused at once); the bound only turns a hang into a failure.
        let error = await #expect(throws: SuretyError.self) {
            try await withStartupBound {
                try await PostgresStore.withStore(configuration: configuration) { store in try await store.job(JobID(1)) }
            }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error.map { $0.description.contains("10.255.255.1:5432") } == true, "\(String(describing: error))")
    }

    @Test("a wrong password fails fast with a clear storeUnavailable error", .enabled(if: TestServer.enabled))
    func wrongPassword() async throws {
        let base = try PostgresStore.Configuration(url: try TestServer.requireURL())
        // scripts/postgres.sh creates this role with password authentication (all others trust).
        let configuration = try PostgresStore.Configuration(
            host: base.host, port: base.port, username: "surety_password_test", password: "not-the-password-9f3",
            database: base.database, schema: "t_password"
        )
        let error = await #expect(throws: SuretyError.self) {
            try await withStartupBound {
                try await PostgresStore.withStore(configuration: configuration) { store in try await store.migrate() }
            }
        }
        #expect(error?.code == .storeUnavailable)
        let text = error.map { "\($0.description) \($0.debugDescription)" } ?? ""
        #expect(text.contains("surety_password_test") && !text.contains("not-the-password-9f3"), "\(text)")
        #expect(text.contains("password") || text.contains("login"), "\(text)")
    }

    @Test("a missing database is named in the error", .enabled(if: TestServer.enabled))
    func missingDatabase() async throws {
        let base = try PostgresStore.Configuration(url: try TestServer.requireURL())
        let configuration = try PostgresStore.Configuration(
            host: base.host, port: base.port, username: base.username, password: base.password,
            database: "surety_no_such_db", schema: "t_missing"
        )
        let error = await #expect(throws: SuretyError.self) {
            try await PostgresStore.withStore(configuration: configuration) { store in try await store.migrate() }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("surety_no_such_db") == true, "\(String(describing: error))")
    }

    @Test("a statement for a connection the server closed fails at once with storeUnavailable and is not run", .enabled(if: TestServer.enabled))
    func closedConnectionRefusesStatements() async throws {
        let configuration = try PostgresStore.Configuration(url: try TestServer.requireURL(), schema: TestServer.freshSchema())
        let store = PostgresStore(configuration: configuration)
        let schema = configuration.schema
        let admin = try await store.connectDirectly(startupParameters: [])
        let victim = try await store.connectDirectly(startupParameters: [])
        do {
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: store.logger)
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(schema).scratch (x int)"), logger: store.logger)
            let pid = try await victim.query("SELECT pg_backend_pid()", logger: store.logger).collect { try $0[0].decode(Int.self) }[0]
            // The server ends the session (as a restart does), and the client sees it close.
            try await admin.query("SELECT pg_terminate_backend(\(pid)::int)", logger: store.logger)
            try await victim.closeFuture.get()

            // postgres-nio alone would drop this statement and never answer; queryIfOpen refuses it.
            let error = await #expect(throws: SuretyError.self) {
                try await withStartupBound {
                    try await victim.queryIfOpen(PostgresQuery(unsafeSQL: "INSERT INTO \(schema).scratch VALUES (1)"), logger: store.logger)
                }
            }
            #expect(error?.code == .storeUnavailable)
            #expect(error?.message.contains("closed before the statement was sent") == true, "\(String(describing: error))")
            // Nothing half-done: the statement did not run, and the caller was told so.
            let rows = try await admin.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).scratch"), logger: store.logger)
                .collect { try $0[0].decode(Int.self) }[0]
            #expect(rows == 0)
        } catch {
            Issue.record("\(String(reflecting: error))")
        }
        _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: store.logger)
        try? await admin.close()
        try? await victim.close()
    }
}

/// Runs a start-up that must fail, bounded generously: a hang fails the test (as `TimedOut`, not
/// the expected `SuretyError`), while a slow but finite failure on a loaded machine does not. The
/// errors' texts, not wall-clock races, show that the right thing failed.
func withStartupBound<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withTimeout(120, "a start-up that should fail with a clear error", operation)
}
