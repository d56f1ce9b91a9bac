import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Hummingbird example app (Examples/HummingbirdShop), run as a user runs it: a real server
/// over real HTTP, the app's own `surety` commands with its own job types (issue 19).
@Suite("Hummingbird example app")
struct HummingbirdShopTests {
    static func executable() throws -> String {
        URL(fileURLWithPath: try CLI.executable()).deletingLastPathComponent().appendingPathComponent("HummingbirdShop").path
    }

    static func shop(_ arguments: [String], in dir: TempDir, name: String, environment: [String: String] = [:]) throws -> SuretyProcess {
        try SuretyProcess(arguments, in: dir, name: name, environment: environment, executable: executable())
    }

    static func post(_ url: String, tenant: String?, body: String) async throws -> (UInt, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let tenant { request.headers.add(name: "X-Tenant", value: tenant) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test("signup enqueues the welcome email in the user's transaction (commit: one job, rollback: none), in the request's tenant; the in-process worker sends it once")
    func signupInOneTransaction() async throws {
        let dir = try TempDir()
        let storePath = dir.file("shop.sqlite")
        let server = try Self.shop([], in: dir, name: "server", environment: ["SHOP_STORE": storePath, "SHOP_PORT": "0"])
        defer { server.killIfRunning() }
        var base = ""
        try await eventually("the shop listens", timeout: .seconds(60)) {
            guard let line = server.stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) else { return false }
            base = String(line.dropFirst("listening on ".count))
            return true
        }
        let (created, id) = try await Self.post("\(base)/signup", tenant: "acme", body: #"{"email": "ann@acme.example"}"#)
        #expect(created == 201, "\(id) \(server.stderr)")
        let (conflict, _) = try await Self.post("\(base)/signup", tenant: "acme", body: #"{"email": "ann@acme.example"}"#)
        #expect(conflict == 409, "the second signup's transaction rolled back")
        let (noTenant, _) = try await Self.post("\(base)/signup", tenant: nil, body: #"{"email": "eve@nowhere.example"}"#)
        #expect(noTenant == 400, "no tenant, no job")

        let store = try SQLiteStore(path: storePath)
        try await eventually("the welcome email is sent", timeout: .seconds(60)) {
            try await store.jobs(JobFilter(states: [.completed], types: ["shop.welcome-email"])).count == 1
        }
        let jobs = try await store.jobs(JobFilter(types: ["shop.welcome-email"]))
        #expect(jobs.count == 1, "exactly one job: the rolled-back signup and the one without a tenant left none")
        #expect(jobs.first?.tenant.rawValue == "acme")
        #expect(jobs.first.map { "\($0.id)" } == id)
        let outbox = try store.database.read { db in try Row.fetchAll(db, sql: "SELECT tenant, address FROM outbox") }
        #expect(outbox.count == 1)
        #expect(outbox.first?["tenant"] as String? == "acme")
        #expect(outbox.first?["address"] as String? == "ann@acme.example")

        server.send(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.stderr)")
    }

    @Test("the app's own `surety` commands: enqueue and worker run its job types; jobs show redacts its secret field instead of masking the payload")
    func appSuretyCommands() async throws {
        let dir = try TempDir()
        let url = "sqlite:\(dir.file("shop.sqlite"))"
        let enqueue = try Self.shop(["surety", "enqueue", "--store", url, "--type", "shop.welcome-email",
                                     "--payload", #"{"email": "bob@globex.example"}"#, "--tenant", "globex", "--json"], in: dir, name: "enqueue")
        #expect(try await enqueue.waitForExit() == 0, "\(enqueue.stderr)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(enqueue.stdout.utf8)) as? [String: Any])?["id"] as? Int)

        let show = try Self.shop(["surety", "jobs", "show", "\(id)", "--store", url, "--json"], in: dir, name: "show")
        #expect(try await show.waitForExit() == 0, "\(show.stderr)")
        #expect(show.stdout.contains("[REDACTED]"), "\(show.stdout)")
        #expect(!show.stdout.contains("bob@globex.example"), "the secret field is redacted")
        #expect(show.stdout.contains("\"email\""), "the payload's shape is shown, not masked whole")

        let worker = try Self.shop(["surety", "worker", "--store", url, "--poll-interval-ms", "50"], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        let store = try SQLiteStore(path: dir.file("shop.sqlite"))
        try await eventually("the app's worker runs its job", timeout: .seconds(60)) {
            try await store.job(JobID(Int64(id)))?.state == .completed
        }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.stderr)")
        let sent = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT tenant FROM outbox") }
        #expect(sent == ["globex"])
    }
}
