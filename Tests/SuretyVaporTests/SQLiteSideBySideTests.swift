import Fluent
import FluentSQLiteDriver
import Foundation
import GRDB
import Surety
import SuretySQLite
import SuretyTesting
import SuretyVapor
import Testing
import VaporTesting

/// docs/vapor.md's SQLite rule: Fluent's SQLite (sqlite-nio bundles its own SQLite) and Surety's
/// SQLiteStore (GRDB, the system SQLite) never open the same file. The app's data in its file
/// through Fluent; the jobs in theirs through Surety; a write that must commit with its job goes
/// through Surety's own GRDB connection, into a table of Surety's file.
@Suite("Fluent SQLite and Surety's SQLiteStore side by side")
struct SQLiteSideBySideTests {
    @Test("separate files: the app's rows through Fluent, the jobs through SQLiteStore, both files intact; the transactional write goes through Surety's GRDB connection (rollback: no row, no job)")
    func separateFiles() async throws {
        let folder = try TempFolder()
        let appPath = folder.file("app.sqlite")
        let store = try SQLiteStore(path: folder.file("jobs.sqlite"))
        try await store.migrate()
        try await store.database.write { db in try db.execute(sql: "CREATE TABLE signups (tenant TEXT NOT NULL, name TEXT PRIMARY KEY)") }
        let greetings = Greetings()
        var dependencies = JobDependencies()
        dependencies.register(greetings)
        try await withServerApp { app in
            app.databases.use(.sqlite(.file(appPath)), as: .sqlite)
            app.surety.use(store: store, registry: JobRegistry([Greet.self]), tenant: tenantHeader)
            try app.surety.runInProcess(
                configuration: .init(worker: WorkerConfiguration(pollInterval: .milliseconds(50)), queueDepthInterval: nil),
                dependencies: dependencies
            )
            // The app's own data: Fluent, its own file. The job: Surety, its own file.
            app.post("greet") { req async throws -> HTTPStatus in
                let body = try req.content.decode(GreetBody.self)
                try await (req.db as! any SQLDatabase).raw("INSERT INTO greetings (name) VALUES (\(bind: body.name))").run()
                try await req.surety.enqueue(Greet(name: body.name))
                return .created
            }
            // A row that must commit with its job: Surety's GRDB connection, Surety's file.
            app.post("signup") { req async throws -> HTTPStatus in
                let body = try req.content.decode(GreetBody.self)
                let tenant = try req.surety.tenant()
                let job = try req.surety.newJob(Greet(name: body.name))
                try await store.database.write { db in
                    try db.execute(sql: "INSERT INTO signups (tenant, name) VALUES (?, ?)", arguments: [tenant.rawValue, body.name])
                    _ = try store.enqueue([job], in: db)
                    if body.fail == true { throw Abort(.conflict, reason: "rolled back after the enqueue") }
                }
                return .created
            }
            try await app.asyncBoot()
            try await (app.db as! any SQLDatabase).raw("CREATE TABLE greetings (name TEXT PRIMARY KEY)").run()
            for name in ["a", "b", "c"] {
                try await app.testing().test(.POST, "greet", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                    try req.content.encode(GreetBody(name: name))
                }, afterResponse: { res async in #expect(res.status == .created, "\(res.body.string)") })
            }
            try await app.testing().test(.POST, "signup", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "d"))
            }, afterResponse: { res async in #expect(res.status == .created, "\(res.body.string)") })
            try await app.testing().test(.POST, "signup", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "e", fail: true))
            }, afterResponse: { res async in #expect(res.status == .conflict, "\(res.body.string)") })
            try await eventually("the in-process worker runs the jobs") { await greetings.names.count == 4 }
            let check = try await (app.db as! any SQLDatabase).raw("PRAGMA integrity_check").all()
            #expect(try check.map { try $0.decode(column: "integrity_check", as: String.self) } == ["ok"])
            let rows = try await (app.db as! any SQLDatabase).raw("SELECT count(*) AS n FROM greetings").first()
            #expect(try rows?.decode(column: "n", as: Int.self) == 3)
        }
        #expect(await greetings.names.sorted() == ["a", "b", "c", "d"], "the rolled-back signup left no job")
        let signups = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT name FROM signups") }
        #expect(signups == ["d"])
        let integrity = try await store.database.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == ["ok"])
        #expect(try await store.jobs(JobFilter(states: [.completed], types: [Greet.name])).count == 4)
    }
}
