import Fluent
import FluentPostgresDriver
import Foundation
import PostgresNIO
import Surety
import SuretyFluentPostgres
import SuretyPostgres
import SuretyVapor
import Testing
import VaporTesting

/// The PostgreSQL server: `SURETY_TEST_POSTGRES_URL` (skipped without it, failing under `CI=true`,
/// as Tests/SuretyPostgresTests/Support.swift).
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["SURETY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let enabled = url != nil || isCI

    struct Missing: Error, CustomStringConvertible {
        var description: String { "PostgreSQL is required under CI; scripts/test starts it (set SURETY_TEST_POSTGRES_URL)" }
    }

    static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }
}

@Suite("Enqueue inside a Fluent transaction on PostgreSQL", .enabled(if: TestPostgres.enabled))
struct FluentPostgresTests {
    /// Runs `body` with a booted app: Fluent on the test server, `app.surety` on a PostgresStore
    /// in a fresh schema of the same database, an app table `users` in that schema, and
    /// `POST /signup` (the user and its job in one Fluent transaction; `fail` rolls it back).
    static func withShop(_ body: (Application, PostgresStore, String) async throws -> Void) async throws {
        let url = try TestPostgres.requireURL()
        let schema = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var configuration = try PostgresStore.Configuration(url: url, schema: schema)
        configuration.maximumConnections = 4
        let store = PostgresStore(configuration: configuration)
        try await withServerApp { app in
            app.databases.use(.postgres(configuration: try SQLPostgresConfiguration(url: url)), as: .psql)
            app.surety.use(store: store, registry: JobRegistry([Greet.self]), tenant: tenantHeader)
            app.post("signup") { req async throws -> HTTPStatus in
                let body = try req.content.decode(GreetBody.self)
                try await req.db.transaction { db in
                    try await (db as! any SQLDatabase).raw("INSERT INTO \(ident: schema).users (name) VALUES (\(bind: body.name))").run()
                    try await req.surety.enqueue(Greet(name: body.name), in: db)
                    if body.fail == true { throw Abort(.conflict, reason: "rolled back after the enqueue") }
                }
                return .created
            }
            app.post("outside") { req async throws -> HTTPStatus in
                try await req.surety.enqueue(Greet(name: "outside"), in: req.db)
                return .created
            }
            app.get("same-connection") { req async throws -> String in
                try await req.db.transaction { db in
                    let fluent = try await (db as! any SQLDatabase).raw("SELECT pg_backend_pid() AS pid, txid_current() AS txid")
                        .first().map { row in (try row.decode(column: "pid", as: Int32.self), try row.decode(column: "txid", as: Int64.self)) }
                    let logger = req.logger
                    let direct = try await (db as! any PostgresDatabase).withConnection { connection in
                        connection.eventLoop.makeFutureWithTask {
                            let rows = try await connection.query("SELECT pg_backend_pid(), txid_current()", logger: logger)
                            var found: (Int32, Int64)?
                            for try await row in rows.decode((Int32, Int64).self) { found = row }
                            return found.map { "\($0.0) \($0.1)" } ?? "none"
                        }
                    }.get()
                    return fluent.map { "\($0.0) \($0.1)" } == direct ? "same \(direct)" : "different: fluent \(String(describing: fluent)), connection \(direct)"
                }
            }
            try await app.asyncBoot()
            let sql = app.db as! any SQLDatabase
            do {
                try await store.migrate()
                try await sql.raw("CREATE TABLE \(ident: schema).users (name TEXT PRIMARY KEY)").run()
                try await body(app, store, schema)
            } catch {
                try? await sql.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run()
                throw error
            }
            try await sql.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run()
        }
    }

    static func users(_ app: Application, _ schema: String) async throws -> [String] {
        try await (app.db as! any SQLDatabase).raw("SELECT name FROM \(ident: schema).users ORDER BY name").all()
            .map { try $0.decode(column: "name", as: String.self) }
    }

    @Test("commit: the user and exactly one job, in the request's tenant; rollback after the enqueue: neither; no tenant: 400 and neither")
    func jobExistsIfAndOnlyIfTheTransactionCommits() async throws {
        try await Self.withShop { app, store, schema in
            try await app.testing().test(.POST, "signup", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "ann"))
            }, afterResponse: { res async in #expect(res.status == .created, "\(res.body.string)") })
            try await app.testing().test(.POST, "signup", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "bob", fail: true))
            }, afterResponse: { res async in #expect(res.status == .conflict, "\(res.body.string)") })
            try await app.testing().test(.POST, "signup", beforeRequest: { req in
                try req.content.encode(GreetBody(name: "eve"))
            }, afterResponse: { res async in #expect(res.status == .badRequest, "\(res.body.string)") })

            let jobs = try await store.jobs(JobFilter(types: [Greet.name]))
            #expect(jobs.count == 1, "the rolled-back signup and the one without a tenant left no job")
            #expect(jobs.first?.tenant == (try TenantID("acme")))
            #expect(jobs.first?.payload.contains("\"ann\"") == true)
            #expect(try await Self.users(app, schema) == ["ann"])
        }
    }

    @Test("the connection enqueue(_:in:) uses is the Fluent transaction's own (same backend, same transaction id)")
    func sameConnectionAndTransaction() async throws {
        try await Self.withShop { app, _, _ in
            try await app.testing().test(.GET, "same-connection", afterResponse: { res async in
                #expect(res.body.string.hasPrefix("same "), "\(res.body.string)")
            })
        }
    }

    @Test("enqueue(_:in:) outside a transaction is refused (invalid_argument), and nothing is enqueued")
    func refusedOutsideATransaction() async throws {
        try await Self.withShop { app, store, _ in
            try await app.testing().test(.POST, "outside", headers: ["X-Tenant": "acme"], afterResponse: { res async in
                #expect(res.status == .internalServerError)
            })
            #expect(try await store.jobs(JobFilter(types: [Greet.name])).isEmpty)
        }
    }
}
