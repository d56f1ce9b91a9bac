import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Surety
import SuretyDashboard
import SuretySQLite
import SuretyTesting
@testable import SuretyVaporDashboard
import Testing
import Vapor
import VaporTesting

/// The dashboard mounted in a Vapor app with `VaporDashboardRoutes` (docs/vapor.md "The
/// dashboard"): pages, the JSON API and actions through the bridge, its token and the app's own
/// middleware, links and query strings under the mount path, hostile input.
@Suite("The dashboard in a Vapor app")
struct VaporDashboardTests {
    @Test("the overview and a job page answer under /surety with the job, links under the mount path and the dashboard's security headers; a page without the token redirects to the mounted sign-in")
    func pages() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            for path in ["surety", "surety/"] {
                let overview = try await app.testing().sendRequest(.GET, path, headers: bearer())
                #expect(overview.status == .ok, "\(path)")
                #expect(overview.headers.first(name: .contentType) == "text/html; charset=utf-8")
                #expect(overview.headers.first(name: "X-Frame-Options") == "DENY")
                #expect(overview.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
                let html = String(buffer: overview.body)
                for link in ["/surety/jobs", "/surety/dead-letters", "/surety/scheduled", "/surety/alerts"] {
                    #expect(html.contains(#"href="\#(link)""#), "\(link) in \(path)")
                }
                #expect(!html.contains(#"href="/jobs""#), "no link escapes the mount path")
            }
            let job = try await app.testing().sendRequest(.GET, "surety/jobs/\(fixture.greeting)", headers: bearer())
            #expect(job.status == .ok)
            let html = String(buffer: job.body)
            #expect(html.contains("Job \(fixture.greeting)"))
            #expect(html.contains(Greet.name))
            #expect(html.contains(#"href="/surety/jobs""#))

            let anonymous = try await app.testing().sendRequest(.GET, "surety/jobs?queue=email")
            #expect(anonymous.status == .seeOther)
            let location = try #require(anonymous.headers.first(name: .location))
            #expect(location.hasPrefix("/surety/login?next="), "\(location)")
            #expect(location.removingPercentEncoding?.contains("/surety/jobs?queue=email") == true, "\(location)")
        }
    }

    @Test("the JSON API through Vapor answers the same status, content type and bytes as the same dashboard served by Hummingbird")
    func apiMatchesHummingbird() async throws {
        let fixture = try await DashboardFixture.make()
        let paths = [
            "/surety/api/overview", "/surety/api/jobs", "/surety/api/jobs?queue=email", "/surety/api/jobs/\(fixture.greeting)",
            "/surety/api/jobs/\(fixture.dead)", "/surety/api/dead-letters", "/surety/api/scheduled", "/surety/api/jobs/424242",
            "/surety/api/openapi.json",
        ]
        let token = DashboardFixture.token
        let hummingbird = Hummingbird.Application(router: try fixture.dashboard.makeRouter())
        let served = try await hummingbird.test(.router) { client in
            var served: [String: (status: Int, type: String?, body: String)] = [:]
            for path in paths {
                let response = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)"]) { $0 }
                served[path] = (response.status.code, response.headers[.contentType], String(buffer: response.body))
            }
            return served
        }
        try await fixture.mounted { app in
            for path in paths {
                let expected = try #require(served[path])
                let response = try await app.testing().sendRequest(.GET, path, headers: bearer())
                #expect(Int(response.status.code) == expected.status, "\(path)")
                #expect(response.headers.first(name: .contentType) == expected.type, "\(path)")
                #expect(String(buffer: response.body) == expected.body, "\(path)")
            }
        }
        #expect(served["/surety/api/jobs/\(fixture.greeting)"]?.body.contains(Greet.name) == true)
        #expect(served["/surety/api/jobs/424242"]?.status == 404)
    }

    @Test("without the dashboard's token (or with a wrong one) the API answers 401; with the token, bearer or basic, 200")
    func token() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            for headers in [HTTPHeaders(), bearer("wrong-token-0123456789"), basic("alice", "wrong-token-0123456789")] {
                let response = try await app.testing().sendRequest(.GET, "surety/api/overview", headers: headers)
                #expect(response.status == .unauthorized, "\(headers)")
                #expect(response.headers.first(name: .wwwAuthenticate) == #"Bearer realm="surety""#)
            }
            for headers in [bearer(), basic("alice", DashboardFixture.token)] {
                #expect(try await app.testing().sendRequest(.GET, "surety/api/overview", headers: headers).status == .ok)
            }
        }
    }

    @Test("a form requeue and a JSON discard of dead jobs work through the bridge and are audited; the CSRF cookie and the Origin check (against the Host the bridge turns into the authority) still apply")
    func actionsAreAudited() async throws {
        let fixture = try await DashboardFixture.make()
        let store = fixture.store
        try await fixture.mounted { app in
            let page = try await app.testing().sendRequest(.GET, "surety/jobs/\(fixture.dead)", headers: basic("alice", DashboardFixture.token))
            let cookie = try #require(page.headers.setCookie?["surety_csrf"]?.string)
            let field = try #require(csrfField(in: String(buffer: page.body)))
            func post(_ form: String, cookie: String?, origin: String? = nil) async throws -> TestingHTTPResponse {
                var headers = basic("alice", DashboardFixture.token)
                headers.add(name: .contentType, value: "application/x-www-form-urlencoded")
                headers.add(name: .host, value: "shop.example")
                if let cookie { headers.add(name: .cookie, value: "surety_csrf=\(cookie)") }
                if let origin { headers.add(name: .origin, value: origin) }
                return try await app.testing().sendRequest(.POST, "surety/dead-letters/requeue", headers: headers, body: ByteBuffer(string: form))
            }
            #expect(try await post("id=\(fixture.dead)&reason=retry&csrf=\(field)", cookie: nil).status == .forbidden)
            #expect(try await post("id=\(fixture.dead)&reason=retry&csrf=\(field)", cookie: cookie, origin: "https://evil.example").status == .forbidden)
            #expect(try await store.job(fixture.dead)?.state == .dead)

            let done = try await post("id=\(fixture.dead)&reason=mailbox+emptied&csrf=\(field)&return=job", cookie: cookie, origin: "http://shop.example")
            #expect(done.status == .seeOther)
            #expect(done.headers.first(name: .location) == "/surety/jobs/\(fixture.dead)?done=requeued&changed=1&skipped=0")
            #expect(try await store.job(fixture.dead)?.state == .available)
            let requeued = try await store.audit(of: fixture.dead)
            #expect(requeued.map(\.action) == ["requeue"])
            #expect(requeued.first?.actor == "alice via token 'dashboard'")
            #expect(requeued.first?.reason == "mailbox emptied")

            var json = bearer()
            json.add(name: .contentType, value: "application/json")
            let discard = try await app.testing().sendRequest(.POST, "surety/api/jobs/discard", headers: json,
                                                              body: ByteBuffer(string: #"{"ids": [\#(fixture.secondDead)], "reason": "spam"}"#))
            #expect(discard.status == .ok, "\(String(buffer: discard.body))")
            #expect(try await store.job(fixture.secondDead)?.state != .dead)
            let discarded = try await store.audit(of: fixture.secondDead)
            #expect(discarded.map(\.action) == ["discard"])
            #expect(discarded.first?.actor == "token 'dashboard'")
            #expect(discarded.first?.reason == "spam")
        }
    }

    @Test("registered on a middleware group, the app's own authentication runs before every dashboard path and method; the dashboard's token is still required behind it")
    func appMiddlewareInFront() async throws {
        let fixture = try await DashboardFixture.make()
        try await withApp { app in
            try app.grouped(RequireAdminHeader()).register(collection: VaporDashboardRoutes(fixture.dashboard))
            var json = bearer()
            json.add(name: .contentType, value: "application/json")
            let requeue = ByteBuffer(string: #"{"ids": [\#(fixture.dead)], "reason": "sneaky"}"#)
            for path in ["surety", "surety/jobs/\(fixture.dead)", "surety/api/overview", "surety/login"] {
                #expect(try await app.testing().sendRequest(.GET, path, headers: bearer()).status == .forbidden, "\(path)")
            }
            #expect(try await app.testing().sendRequest(.POST, "surety/api/jobs/requeue", headers: json, body: requeue).status == .forbidden)
            #expect(try await fixture.store.job(fixture.dead)?.state == .dead)
            #expect(try await fixture.store.audit(of: fixture.dead).isEmpty)

            var admin = bearer()
            admin.add(name: RequireAdminHeader.header, value: "yes")
            #expect(try await app.testing().sendRequest(.GET, "surety/api/overview", headers: admin).status == .ok)
            #expect(try await app.testing().sendRequest(.GET, "surety/api/overview", headers: [RequireAdminHeader.header: "yes"]).status == .unauthorized)
        }
    }

    @Test("query parameters pass through the bridge: a queue filter on the jobs API and page")
    func queryParametersPassThrough() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            func ids(_ path: String) async throws -> [Int64] {
                let response = try await app.testing().sendRequest(.GET, path, headers: bearer())
                let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let jobs = try #require(object["jobs"] as? [[String: Any]])
                return jobs.compactMap { ($0["id"] as? NSNumber)?.int64Value }
            }
            #expect(try await ids("surety/api/jobs?queue=email") == [fixture.email.rawValue])
            #expect(try await ids("surety/api/jobs?queue=default") == [fixture.greeting.rawValue])
            #expect(try await ids("surety/api/jobs").count == 4)
            let page = String(buffer: try await app.testing().sendRequest(.GET, "surety/jobs?queue=email", headers: bearer()).body)
            #expect(page.contains(#"href="/surety/jobs/\#(fixture.email)""#))
            #expect(!page.contains(#"href="/surety/jobs/\#(fixture.greeting)""#))
        }
    }

    @Test("hostile paths, queries and bodies get a 4xx, never a 5xx or a crash, and the dashboard answers afterwards")
    func hostileInput() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            let hostile = [
                "surety/jobs?queue=%00%01%7F", "surety/jobs?since=not-a-date&until=%FF%FE", "surety/api/jobs?limit=-5&before_id=abc",
                "surety/api/jobs/99999999999999999999999", "surety/api/jobs/-1", "surety/jobs/%27%22%3Cscript%3E",
                "surety/%2e%2e/%2e%2e/etc/passwd", "surety/../../etc/passwd", "surety//jobs", "surety/api/overview?%",
                "surety/jobs?" + String(repeating: "queue=%25&", count: 2_000), "surety/" + String(repeating: "a/", count: 500),
                "surety/login?next=%2F%2Fevil.example",
            ]
            for path in hostile {
                let response = try await app.testing().sendRequest(.GET, path, headers: bearer())
                #expect(response.status.code < 500, "\(path.prefix(80)): \(response.status)")
            }
            var form = bearer()
            form.add(name: .contentType, value: "application/json")
            // In memory the body arrives already collected, past Vapor's limit: the dashboard's own
            // 1 MiB limit answers (over the wire Vapor's 413 comes first: realServer).
            let huge = try await app.testing().sendRequest(.POST, "surety/api/jobs/requeue", headers: form,
                                                           body: ByteBuffer(repeating: UInt8(ascii: "x"), count: (1 << 20) + 1))
            #expect(huge.status == .badRequest)
            let garbage = try await app.testing().sendRequest(.POST, "surety/api/jobs/requeue", headers: form, body: ByteBuffer(string: "{\"ids\": [1e400, \"x\"]"))
            #expect(garbage.status == .badRequest)
            #expect(try await app.testing().sendRequest(.GET, "surety/api/overview", headers: bearer()).status == .ok)
            #expect(try await fixture.store.job(fixture.dead)?.state == .dead)
        }
    }

    @Test("HEAD is answered from the dashboard's GET route, as Vapor does for its own routes")
    func head() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            let response = try await app.testing().sendRequest(.HEAD, "surety/api/overview", headers: bearer())
            #expect(response.status == .ok)
        }
    }

    @Test("a base path of several components mounts; an empty base path, a dashboard without a credential and a path group are refused")
    func mountRules() async throws {
        let fixture = try await DashboardFixture.make()
        try await withApp { app in
            try app.register(collection: VaporDashboardRoutes(fixture.dashboard(basePath: "/ops/surety")))
            let page = try await app.testing().sendRequest(.GET, "ops/surety/jobs", headers: bearer())
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains(#"href="/ops/surety/dead-letters""#))
            #expect(try await app.testing().sendRequest(.GET, "surety/jobs", headers: bearer()).status == .notFound)
        }
        #expect(throws: SuretyError.self) { try VaporDashboardRoutes(fixture.dashboard(basePath: "")) }
        #expect(throws: DashboardError.self) {
            try VaporDashboardRoutes(Dashboard(store: fixture.store, configuration: DashboardConfiguration(basePath: "/surety")))
        }
        try await withApp { app in
            let error = #expect(throws: SuretyError.self) { try app.grouped("admin").register(collection: VaporDashboardRoutes(fixture.dashboard)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("/admin/surety") == true)
        }
    }

    @Test("over real HTTP: the token is checked, a same-origin JSON requeue (Origin equal to the Host the client sent) is applied, a body over 1 MiB gets Vapor's 413 before the dashboard reads it")
    func realServer() async throws {
        let fixture = try await DashboardFixture.make()
        try await fixture.mounted { app in
            try await withRunningServer(app) { (base: String) async throws -> Void in
                func send(_ method: HTTPMethod, _ path: String, token: String?, origin: String? = nil, body: ByteBuffer? = nil) async throws -> UInt {
                    var request = HTTPClientRequest(url: base + path)
                    request.method = method
                    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                    if let origin { request.headers.add(name: "Origin", value: origin) }
                    if let body {
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(body)
                    }
                    return try await HTTPClient.shared.execute(request, timeout: .seconds(20)).status.code
                }
                #expect(try await send(.GET, "/surety/api/overview", token: nil) == 401)
                #expect(try await send(.GET, "/surety/api/overview", token: DashboardFixture.token) == 200)
                let requeue = ByteBuffer(string: #"{"ids": [\#(fixture.dead)], "reason": "over the wire"}"#)
                #expect(try await send(.POST, "/surety/api/jobs/requeue", token: DashboardFixture.token, origin: "https://evil.example", body: requeue) == 403)
                #expect(try await fixture.store.job(fixture.dead)?.state == .dead)
                #expect(try await send(.POST, "/surety/api/jobs/requeue", token: DashboardFixture.token, origin: base, body: requeue) == 200)
                #expect(try await fixture.store.job(fixture.dead)?.state == .available)
                let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
                #expect(try await send(.POST, "/surety/api/jobs/discard", token: DashboardFixture.token, body: huge) == 413)
            }
        }
    }

    @Test("a Hummingbird body written over time reaches a Vapor client chunk by chunk: the bridge streams, it does not collect first", .timeLimit(.minutes(1)))
    func bodiesStream() async throws {
        let (events, source) = AsyncStream.makeStream(of: ByteBuffer.self)
        let router = Hummingbird.Router(context: BridgedRequestContext.self)
        router.get("/events") { _, _ in
            Hummingbird.Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody(asyncSequence: events))
        }
        let bridge = HummingbirdBridge(router: router)
        try await withApp { app in
            bridge.register(on: app, at: ["events"], methods: [.GET], maximumBody: 1024, description: "events")
            try await withRunningServer(app) { (base: String) async throws -> Void in
                source.yield(ByteBuffer(string: "data: one\n\n"))
                // If the bridge collected the body, the head itself would wait for the stream's end,
                // which comes only after the first event has been read: this call would time out.
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/events"), timeout: .seconds(20))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
                var body = response.body.makeAsyncIterator()
                var received = ""
                while !received.hasSuffix("\n\n"), let chunk = try await body.next() { received += String(buffer: chunk) }
                #expect(received == "data: one\n\n", "the first event arrived while the stream was still open")
                source.yield(ByteBuffer(string: "data: two\n\n"))
                source.finish()
                while let chunk = try await body.next() { received += String(buffer: chunk) }
                #expect(received == "data: one\n\ndata: two\n\n")
            }
        }
    }
}

/// A store with four jobs of tenant acme, enqueued at a test clock's time: one waiting on
/// `default`, one on `email`, two dead (a permanent error) on `doomed`; and a dashboard over it
/// at `/surety` with one token.
struct DashboardFixture {
    static let token = "vapor-admin-token-0123456789"
    let folder: TempFolder
    let store: SQLiteStore
    let clock: TestClock
    let greeting: JobID
    let email: JobID
    let dead: JobID
    let secondDead: JobID

    static func make() async throws -> DashboardFixture {
        let folder = try TempFolder()
        let store = try SQLiteStore(path: folder.file("jobs.sqlite"))
        try await store.migrate()
        let clock = TestClock()
        let queue = JobQueue(store: store, registry: JobRegistry([Greet.self]), clock: clock)
        let acme = try TenantID("acme")
        let greeting = try await queue.enqueue(Greet(name: "ann"), tenant: acme).id
        let email = try await queue.enqueue(Greet(name: "bob"), tenant: acme, options: EnqueueOptions(queue: "email")).id
        var dead: [JobID] = []
        for name in ["eve", "mallory"] {
            let id = try await queue.enqueue(Greet(name: name), tenant: acme, options: EnqueueOptions(queue: "doomed")).id
            let claimed = try await store.claim(ClaimRequest(queues: ["doomed"], limit: 1, worker: "worker-1", now: clock.now(),
                                                             leaseUntil: clock.now().addingTimeInterval(30)))
            try #require(claimed.map(\.id) == [id])
            let finished = try await store.finish([AttemptFinish(
                lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-1", startedAt: clock.now(), endedAt: clock.now(),
                outcome: .failed, error: AttemptError(type: "MailboxFull", message: "552 mailbox full", errorClass: .permanent),
                next: .dead(.permanentError))])
            try #require(finished == [.applied])
            dead.append(id)
        }
        return DashboardFixture(folder: folder, store: store, clock: clock, greeting: greeting, email: email, dead: dead[0], secondDead: dead[1])
    }

    /// The dashboard at `basePath`, with the fixture's clock (so two servings of it agree).
    func dashboard(basePath: String) throws -> Dashboard {
        Dashboard(store: store, registry: JobRegistry([Greet.self]),
                  configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: Self.token)], basePath: basePath),
                  clock: clock)
    }

    var dashboard: Dashboard { get throws { try dashboard(basePath: "/surety") } }

    /// A Vapor app with the dashboard registered on its root.
    func mounted(_ test: (Vapor.Application) async throws -> Void) async throws {
        let dashboard = try self.dashboard
        try await withApp { app in
            try app.register(collection: VaporDashboardRoutes(dashboard))
            try await test(app)
        }
    }
}

/// The app's own authentication in the tests: a request without `X-Admin: yes` gets a 403.
struct RequireAdminHeader: AsyncMiddleware {
    static let header = "X-Admin"

    func respond(to request: Vapor.Request, chainingTo next: any AsyncResponder) async throws -> Vapor.Response {
        guard request.headers.first(name: Self.header) == "yes" else { throw Abort(.forbidden, reason: "admins only") }
        return try await next.respond(to: request)
    }
}

/// Runs `body` with `app` serving real HTTP on a free loopback port (`http://127.0.0.1:PORT`),
/// then stops the server.
func withRunningServer<T>(_ app: Vapor.Application, _ body: (String) async throws -> T) async throws -> T {
    try await app.asyncBoot()
    try await app.server.start(address: .hostname("127.0.0.1", port: 0))
    do {
        let port = try #require(app.http.server.shared.localAddress?.port)
        let result = try await body("http://127.0.0.1:\(port)")
        await app.server.shutdown()
        return result
    } catch {
        await app.server.shutdown()
        throw error
    }
}

func bearer(_ token: String = DashboardFixture.token) -> HTTPHeaders {
    ["Authorization": "Bearer \(token)"]
}

func basic(_ user: String, _ token: String) -> HTTPHeaders {
    ["Authorization": "Basic " + Data("\(user):\(token)".utf8).base64EncodedString()]
}

/// The CSRF token a dashboard page put in its forms.
func csrfField(in html: String) -> String? {
    guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
    let rest = html[range.upperBound...]
    return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
}
