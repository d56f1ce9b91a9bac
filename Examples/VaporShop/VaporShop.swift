// A Vapor app using Surety (README "Using Surety in a Vapor app" is copied from here; docs/vapor.md).
// CI builds it, and VaporShopTests runs it. `swift run VaporShop serve` serves with the workers
// in-process and the dashboard under /surety; `swift run VaporShop surety worker` (and every
// other `surety` command) runs with the shop's own job types. Surety's store is
// an SQLite file of its own, and the shop's users live in it too, written through the store's GRDB
// connection, so a user and its welcome email commit together (Fluent's SQLite must never open
// this file: docs/vapor.md).
import Foundation
import GRDB
import Surety
import SuretyCLI
import SuretyDashboard
import SuretySQLite
import SuretyVapor
import SuretyVaporCommands
import SuretyVaporDashboard
import Vapor

/// Sends the welcome email once per new user, through the effect ledger.
struct SendWelcomeEmail: Job {
    static let name = "vaporshop.welcome-email"
    static let options = JobOptions(queue: "email", maxAttempts: 10)
    static let secretFields: Set<String> = ["email"]
    var email: String

    func run(_ context: JobContext) async throws {
        let outbox = try context.dependency(Outbox.self)
        let tenant = context.tenant
        _ = try await context.effect("send", key: email) { idempotencyKey in
            try await outbox.send(to: email, tenant: tenant, idempotencyKey: idempotencyKey)
        }
    }
}

/// Logs the number of users, every night at 03:00 UTC.
struct NightlyDigest: Job {
    static let name = "vaporshop.nightly-digest"
    func run(_ context: JobContext) async throws {
        let users = try await context.dependency(Outbox.self).database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM users") ?? 0 }
        context.logger.info("nightly digest", metadata: ["users": "\(users)"])
    }
}

/// The shop's mail provider: an outbox table that keeps one message per idempotency key.
struct Outbox: Sendable {
    let database: DatabasePool
    func send(to address: String, tenant: TenantID, idempotencyKey: String) async throws -> Int64 {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO outbox (idempotency_key, tenant, address) VALUES (?, ?, ?)",
                           arguments: [idempotencyKey, tenant.rawValue, address])
            return try Int64.fetchOne(db, sql: "SELECT id FROM outbox WHERE idempotency_key = ?", arguments: [idempotencyKey]) ?? 0
        }
    }
}

enum Shop {
    static let jobs: [any Job.Type] = [SendWelcomeEmail.self, NightlyDigest.self]
    static let queues = ["default", "email"]
    static let schedules = [try! Schedule(name: "nightly-digest", cron: "0 0 3 * * *", job: NightlyDigest(), tenant: .system)]

    static func dependencies(_ store: SQLiteStore) async throws -> JobDependencies {
        try await store.database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, UNIQUE (tenant, email));
                CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, address TEXT NOT NULL);
                """)
        }
        var dependencies = JobDependencies()
        dependencies.register(Outbox(database: store.database))
        return dependencies
    }

    /// What `VaporShop surety ...` runs with.
    static let application = SuretyApplication(
        jobs: jobs, queues: queues, schedules: schedules,
        dependencies: { opened in
            guard let sqlite = opened.sqlite else { throw SuretyError(.invalidArgument, "the shop keeps its tables in SQLite") }
            return try await dependencies(sqlite)
        },
        defaultStore: "sqlite:vaporshop.sqlite"
    )
}

struct Signup: Content { var email: String }

@main
struct VaporShop {
    static func main() async throws {
        let app = try await Application.make(try Environment.detect())
        do {
            let store = try SQLiteStore(path: Environment.get("SHOP_STORE") ?? "vaporshop.sqlite")
            try await store.migrate()
            let registry = JobRegistry(Shop.jobs)
            app.surety.use(store: store, registry: registry) { req in
                try req.headers.first(name: "X-Tenant").map { try TenantID($0) }   // no tenant: 400, no job
            }
            try app.surety.runInProcess(configuration: .init(worker: WorkerConfiguration(queues: Shop.queues), schedules: Shop.schedules),
                                        dependencies: try await Shop.dependencies(store))
            app.asyncCommands.use(SuretyVaporCommand(application: Shop.application), as: "surety")

            // The user and the welcome email in one transaction: the job exists iff the user does.
            app.post("signup") { req async throws -> Response in
                let signup = try req.content.decode(Signup.self)
                let tenant = try req.surety.tenant()
                let welcome = try req.surety.newJob(SendWelcomeEmail(email: signup.email))
                do {
                    let id = try await store.database.write { db in
                        try db.execute(sql: "INSERT INTO users (tenant, email) VALUES (?, ?)", arguments: [tenant.rawValue, signup.email])
                        return try store.enqueue([welcome], in: db)[0].id
                    }
                    return Response(status: .created, body: .init(string: "\(id)"))
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    return Response(status: .conflict)
                }
            }
            // The dashboard under /surety, behind a token (SuretyVaporDashboard bridges it into Vapor's routes).
            let dashboard = Dashboard(store: store, registry: registry, configuration: DashboardConfiguration(
                credentials: [try DashboardCredential(token: Environment.get("SHOP_DASHBOARD_TOKEN") ?? "change-me-please")], basePath: "/surety"))
            try app.register(collection: VaporDashboardRoutes(dashboard))
            try await app.execute()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}
