import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import Testing

/// Issue 19: one store-URL parser. `?schema=NAME` in a PostgreSQL URL means the same schema to
/// the library as to the `surety` CLI.
@Suite("PostgreSQL store: the schema in the URL, and what a closed connection says")
struct ConfigurationURLTests {
    @Test("?schema=NAME in the URL names the schema")
    func schemaFromURL() throws {
        let configuration = try PostgresStore.Configuration(url: "postgres://app:pw-hidden@db.internal:6543/jobs?schema=jobs_1&sslmode=require")
        #expect(configuration.schema == "jobs_1")
        #expect(configuration.tls == .require && configuration.database == "jobs" && configuration.port == 6543)
        #expect(configuration.description == "postgres://app@db.internal:6543/jobs (schema jobs_1)")
        // The order of the parameters does not matter.
        #expect(try PostgresStore.Configuration(url: "postgresql://u@h/db?sslmode=disable&schema=surety").schema == "surety")
    }

    @Test("the schema: argument and the URL agree, or the URL is refused")
    func schemaArgumentAndURL() throws {
        #expect(try PostgresStore.Configuration(url: "postgres://u@h/db").schema == "public")
        #expect(try PostgresStore.Configuration(url: "postgres://u@h/db", schema: "jobs").schema == "jobs")
        #expect(try PostgresStore.Configuration(url: "postgres://u@h/db?schema=jobs", schema: "jobs").schema == "jobs")
        let error = #expect(throws: SuretyError.self) {
            try PostgresStore.Configuration(url: "postgres://u:pw-hidden@h/db?schema=jobs", schema: "other")
        }
        #expect(error?.code == .invalidStoreURL)
        #expect(error.map { $0.message.contains("'jobs'") && $0.message.contains("'other'") } == true, "\(String(describing: error))")
        #expect(error.map { !$0.description.contains("pw-hidden") } == true, "the password leaked: \(String(describing: error))")
        // "public" given explicitly is a choice too: it conflicts with another schema in the URL.
        #expect(throws: SuretyError.self) { try PostgresStore.Configuration(url: "postgres://u@h/db?schema=jobs", schema: "public") }
    }

    @Test("a repeated, empty or invalid schema parameter is refused; the password never shows", arguments: [
        "postgres://u:pw-hidden@h/db?schema=a&schema=b", "postgres://u:pw-hidden@h/db?schema=a&schema=a",
        "postgres://u:pw-hidden@h/db?schema=", "postgres://u:pw-hidden@h/db?schema", "postgres://u:pw-hidden@h/db?schema=Bad-Name",
        "postgres://u:pw-hidden@h/db?schema=jobs&sslmode=sometimes",
    ])
    func refusesBadSchemaParameters(url: String) throws {
        let error = #expect(throws: SuretyError.self) { try PostgresStore.Configuration(url: url) }
        #expect(error?.code == .invalidStoreURL, "\(url)")
        #expect(error.map { !$0.description.contains("pw-hidden") && !$0.debugDescription.contains("pw-hidden") } == true,
                "the password leaked: \(String(describing: error))")
    }

    @Test("PostgresStore(url:) and the URL without its schema parameter")
    func storeFromURL() throws {
        #expect(try PostgresStore(url: "postgres://u@h/db?schema=jobs").configuration.schema == "jobs")
        #expect(try PostgresStore(url: "postgres://u@h/db").configuration.schema == "public")
        #expect(PostgresStore.Configuration.removingSchemaParameter(from: "postgresql://u:pw@h:6000/db?schema=jobs_1&sslmode=require")
            == "postgresql://u:pw@h:6000/db?sslmode=require")
        #expect(PostgresStore.Configuration.removingSchemaParameter(from: "postgres://u@h/db?schema=jobs") == "postgres://u@h/db")
        #expect(PostgresStore.Configuration.removingSchemaParameter(from: "postgres://u@h/db") == "postgres://u@h/db")
    }

    @Test("a closed connection: the pool shut down is a usage mistake, a server close is an outage")
    func closedConnectionMessages() throws {
        let server = "the PostgreSQL server at db.internal:5433"
        let pool = PostgresErrors.closedConnection(.poolClosed, server: server, operation: "claim", underlying: nil)
        #expect(pool.code == .storeUnavailable)
        #expect(pool.message.contains("run()") && pool.message.contains("ended"), "\(pool.message)")
        #expect(!pool.message.contains("restart"), "\(pool.message)")
        for code in [PSQLError.Code.serverClosedConnection, .clientClosedConnection, .uncleanShutdown] {
            let closed = PostgresErrors.closedConnection(code, server: server, operation: "claim", underlying: nil)
            #expect(closed.code == .storeUnavailable)
            #expect(closed.message.contains("db.internal:5433") && closed.message.contains("restart"), "\(closed.message)")
            #expect(!closed.message.contains("run()") && !closed.message.contains("withStore"), "\(closed.message)")
            #expect(!closed.message.contains("pw-hidden"))
        }
    }

    @Test("a store used after withStore ended says its run() has ended", .enabled(if: TestServer.enabled))
    func storeUsedAfterWithStore() async throws {
        let configuration = try PostgresStore.Configuration(url: try TestServer.requireURL(), schema: TestServer.freshSchema())
        let escaped = try await PostgresStore.withStore(configuration: configuration) { store in
            try await store.migrate()
            return store
        }
        let error = await #expect(throws: SuretyError.self) {
            try await withStartupBound { _ = try await escaped.job(JobID(1)) }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error.map { $0.message.contains("run()") && $0.message.contains("ended") } == true, "\(String(describing: error))")
        try await PostgresStore.withStore(configuration: configuration) { try await TestServer.dropSchema($0) }
    }
}
