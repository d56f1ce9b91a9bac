// A Hummingbird app using Surety (README "Using Surety in a Hummingbird app" is copied from here;
// CI builds it, and HummingbirdShopTests runs it). `swift run HummingbirdShop` serves on
// 127.0.0.1:8080 with the workers in-process; `swift run HummingbirdShop surety worker` (and every
// other `surety` command) runs with the shop's own job types.
import Foundation
import GRDB
import Hummingbird
import Surety
import SuretyCLI
import SuretyDashboard
import SuretyHummingbird
import SuretySQLite

/// Sends the welcome email once per new user, through the effect ledger.
struct SendWelcomeEmail: Job {
    static let name = "shop.welcome-email"
    static let options = JobOptions(queue: "email", maxAttempts: 10)
    static let secretFields: Set<String> = ["email"]
    var email: String

    func run(_ context: JobContext) async throws {
        let outbox = try context.dependency(Outbox.self)
        let tenant = context.tenant
        try ShopTestHooks.failFirstSendIfAsked(context)   // off unless SHOP_FAIL_FIRST_SEND=1
        _ = try await context.effect("send", key: email) { idempotencyKey in
            try await outbox.send(to: email, subject: "Welcome!", tenant: tenant, idempotencyKey: idempotencyKey)
        }
    }
}

/// Counts the day's signups, every night at 03:00 UTC.
struct NightlyDigest: Job {
    static let name = "shop.nightly-digest"
    func run(_ context: JobContext) async throws {
        let users = try await context.dependency(Outbox.self).database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM users") ?? 0 }
        context.logger.info("nightly digest", metadata: ["users": "\(users)"])
    }
}

/// The shop's mail provider: an outbox table that keeps one message per idempotency key.
struct Outbox: Sendable {
    let database: DatabasePool
    func send(to address: String, subject: String, tenant: TenantID, idempotencyKey: String) async throws -> Int64 {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO outbox (idempotency_key, tenant, address, subject) VALUES (?, ?, ?, ?)",
                           arguments: [idempotencyKey, tenant.rawValue, address, subject])
            return try Int64.fetchOne(db, sql: "SELECT id FROM outbox WHERE idempotency_key = ?", arguments: [idempotencyKey]) ?? 0
        }
    }
}

enum Shop {
    static let jobs: [any Job.Type] = [SendWelcomeEmail.self, NightlyDigest.self]
    static let queues = ["default", "email"]
    static let schedules = [try! Schedule(name: "nightly-digest", cron: "0 0 3 * * *", job: NightlyDigest(), tenant: .system)]

    /// The shop's own tables, in the same SQLite file as the jobs.
    static func migrate(_ store: SQLiteStore) async throws {
        try await store.database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, UNIQUE (tenant, email));
                CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,
                                                   tenant TEXT NOT NULL, address TEXT NOT NULL, subject TEXT NOT NULL);
                """)
        }
    }

    static func dependencies(_ store: SQLiteStore) async throws -> JobDependencies {
        try await migrate(store)
        var dependencies = JobDependencies()
        dependencies.register(Outbox(database: store.database))
        return dependencies
    }

    /// What `HummingbirdShop surety ...` runs with.
    static let application = SuretyApplication(
        jobs: jobs, queues: queues, schedules: schedules,
        dependencies: { opened in
            guard let sqlite = opened.sqlite else { throw SuretyError(.invalidArgument, "the shop keeps its tables in SQLite") }
            return try await dependencies(sqlite)
        },
        defaultStore: "sqlite:shop.sqlite"
    )
}

struct Signup: Decodable { var email: String }

@main
struct HummingbirdShop {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "surety" {
            await SuretyCommand.runAndExit(Shop.application, arguments: Array(arguments.dropFirst()))
        }
        let environment = ProcessInfo.processInfo.environment
        let telemetry = try ShopTelemetry.bootstrap(environment)   // OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set
        let store = try SQLiteStore(path: environment["SHOP_STORE"] ?? "shop.sqlite")
        try await store.migrate()
        let registry = JobRegistry(Shop.jobs)
        let jobs = RequestJobs<BasicRequestContext>(queue: JobQueue(store: store, registry: registry)) { request, _ in
            try request.headers[.init("X-Tenant")!].map { try TenantID($0) }
        }

        let router = Router()
        router.middlewares.add(TracingMiddleware())   // each request's span: the root of its jobs' trace
        // The user and the welcome email in one transaction: the job exists iff the user does.
        router.post("signup") { request, context -> Response in
            let signup = try await request.decode(as: Signup.self, context: context)
            let tenant = try jobs.tenant(of: request, context: context)
            let welcome = try jobs.newJob(SendWelcomeEmail(email: signup.email), for: request, context: context)
            do {
                let id = try await store.database.write { db in
                    try db.execute(sql: "INSERT INTO users (tenant, email) VALUES (?, ?)", arguments: [tenant.rawValue, signup.email])
                    return try store.enqueue([welcome], in: db)[0].id
                }
                return Response(status: .created, body: ResponseBody(byteBuffer: ByteBuffer(string: "\(id)")))
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                return Response(status: .conflict)
            }
        }
        // The dashboard under /surety, behind a token.
        let dashboard = Dashboard(store: store, registry: registry, configuration: DashboardConfiguration(
            credentials: [try DashboardCredential(token: environment["SHOP_DASHBOARD_TOKEN"] ?? "change-me-please")], basePath: "/surety"))
        router.addRoutes(dashboard.routes(context: BasicRequestContext.self), atPath: "/surety")

        // Workers, schedules, retention and queue depths, in-process, with the app's lifecycle.
        let surety = try SuretyService(store: store, registry: registry,
                                       configuration: .init(worker: WorkerConfiguration(queues: Shop.queues), schedules: Shop.schedules),
                                       dependencies: try await Shop.dependencies(store))
        let port = Int(environment["SHOP_PORT"] ?? "8080") ?? 8080
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), services: telemetry + [surety],
                              onServerRunning: { channel in   // unbuffered: a supervisor reads the port from here
            FileHandle.standardOutput.write(Data("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)\n".utf8))
        })
        try await app.runService()
    }
}
