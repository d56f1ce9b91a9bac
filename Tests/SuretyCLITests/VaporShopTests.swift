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

/// The Vapor example app (Examples/VaporShop), run as a user runs it: `VaporShop serve` over real
/// HTTP with the workers in-process and the dashboard under /surety, and the app's own `surety`
/// commands (issue 19).
@Suite("Vapor example app")
struct VaporShopTests {
    static func executable() throws -> String {
        URL(fileURLWithPath: try CLI.executable()).deletingLastPathComponent().appendingPathComponent("VaporShop").path
    }

    /// A port that was free a moment ago (the kernel picks it; Vapor binds it right after).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLITestError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLITestError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("signup enqueues the welcome email in the user's transaction (commit: one job, rollback: none) for the request's tenant; the in-process worker sends it once; the app's `surety` commands know its types")
    func signupAndCommands() async throws {
        let dir = try TempDir()
        let storePath = dir.file("vaporshop.sqlite")
        let port = try Self.freePort()
        let server = try SuretyProcess(["serve", "--hostname", "127.0.0.1", "--port", "\(port)"], in: dir, name: "server",
                                       environment: ["SHOP_STORE": storePath], executable: try Self.executable())
        defer { server.killIfRunning() }
        try await eventually("the shop listens", timeout: .seconds(60)) {
            (server.stdout + server.stderr).contains("Server started on")
        }
        let base = "http://127.0.0.1:\(port)"
        let (created, id) = try await HummingbirdShopTests.post("\(base)/signup", tenant: "acme", body: #"{"email": "ann@acme.example"}"#)
        #expect(created == 201, "\(id) \(server.stderr)")
        let (conflict, _) = try await HummingbirdShopTests.post("\(base)/signup", tenant: "acme", body: #"{"email": "ann@acme.example"}"#)
        #expect(conflict == 409, "the second signup's transaction rolled back")
        let (noTenant, _) = try await HummingbirdShopTests.post("\(base)/signup", tenant: nil, body: #"{"email": "eve@nowhere.example"}"#)
        #expect(noTenant == 400, "no tenant, no job")

        let store = try SQLiteStore(path: storePath)
        try await eventually("the welcome email is sent", timeout: .seconds(60)) {
            try await store.jobs(JobFilter(states: [.completed], types: ["vaporshop.welcome-email"])).count == 1
        }
        let jobs = try await store.jobs(JobFilter(types: ["vaporshop.welcome-email"]))
        #expect(jobs.count == 1, "exactly one job: the rolled-back signup and the one without a tenant left none")
        #expect(jobs.first?.tenant.rawValue == "acme")
        let outbox = try store.database.read { db in try Row.fetchAll(db, sql: "SELECT tenant, address FROM outbox") }
        #expect(outbox.count == 1)
        #expect(outbox.first?["tenant"] as String? == "acme")

        server.send(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))

        // The app's own `surety` commands: its job type is known, its secret field redacted.
        let show = try SuretyProcess(["surety", "jobs", "show", "\(jobs[0].id)", "--store", "sqlite:\(storePath)", "--json"], in: dir,
                                     name: "show", executable: try Self.executable())
        #expect(try await show.waitForExit() == 0, "\(show.stderr)")
        #expect(show.stdout.contains("[REDACTED]"), "\(show.stdout)")
        #expect(!show.stdout.contains("ann@acme.example"))
    }

    @Test("the dashboard under /surety (SuretyVaporDashboard): 401 without the token, 200 with the one from SHOP_DASHBOARD_TOKEN, pages linking under /surety")
    func dashboardUnderSurety() async throws {
        let dir = try TempDir()
        let port = try Self.freePort()
        let token = "shop-dashboard-token-0123456789"
        let server = try SuretyProcess(["serve", "--hostname", "127.0.0.1", "--port", "\(port)"], in: dir, name: "server",
                                       environment: ["SHOP_STORE": dir.file("vaporshop.sqlite"), "SHOP_DASHBOARD_TOKEN": token],
                                       executable: try Self.executable())
        defer { server.killIfRunning() }
        try await eventually("the shop listens", timeout: .seconds(60)) {
            (server.stdout + server.stderr).contains("Server started on")
        }
        let base = "http://127.0.0.1:\(port)"
        func get(_ path: String, token: String?) async throws -> (UInt, String) {
            var request = HTTPClientRequest(url: base + path)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 22)))
        }
        #expect(try await get("/surety/api/overview", token: nil).0 == 401)
        #expect(try await get("/surety/api/overview", token: "change-me-please").0 == 401, "the token comes from SHOP_DASHBOARD_TOKEN")
        let (status, overview) = try await get("/surety/api/overview", token: token)
        #expect(status == 200, "\(overview) \(server.stderr)")
        #expect(overview.contains("\"queues\""))
        let (pageStatus, page) = try await get("/surety", token: token)
        #expect(pageStatus == 200)
        #expect(page.contains(#"href="/surety/dead-letters""#))

        server.send(SIGTERM)
        _ = try await server.waitForExit(timeout: .seconds(30))
    }
}
