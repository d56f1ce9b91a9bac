import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Surety
import SuretyCLI
import SuretyDashboard
import Testing

@Suite("Dashboard requests")
struct RequestTests {
    @Test("every page, API call and /metrics needs credentials")
    func authenticationIsRequired() async throws {
        let fixture = try await Fixture.make(history: 6)
        let app = Application(router: try fixture.dashboard(metrics: PrometheusCollectorRegistry()).makeRouter())
        try await app.test(.router) { client in
            for path in ["/", "/jobs", "/jobs/\(fixture.scriptJob.rawValue)", "/dead-letters", "/scheduled", "/alerts"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .seeOther, "\(path)")
                    #expect(response.headers[.location]?.hasPrefix("/login?next=") == true, "\(path)")
                }
            }
            for path in ["/api/overview", "/api/jobs", "/api/jobs/1", "/api/dead-letters", "/api/openapi.json", "/metrics"] {
                try await client.execute(uri: path, method: .get) { #expect($0.status == .unauthorized, "\(path)") }
                try await client.execute(uri: path, method: .get, headers: bearer("wrong-token-123")) { #expect($0.status == .unauthorized, "\(path)") }
            }
            try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"ids":[\#(fixture.scriptJob.rawValue)],"reason":"x"}"#)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/", method: .get, headers: bearer()) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/overview", method: .get, headers: basic("alice", Planted.adminToken)) { #expect($0.status == .ok) }
        }
        #expect(try await fixture.store.job(fixture.scriptJob)?.state == .dead)
    }

    @Test("the overview shows depth by state, rates, percentiles and server-drawn SVG charts per queue")
    func overview() async throws {
        let fixture = try await Fixture.make(history: 30)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: bearer()) { response in
                #expect(response.status == .ok)
                let html = response.text
                for queue in ["all queues", "default", "email", "payments"] { #expect(html.contains("<h2>\(queue)</h2>")) }
                #expect(html.components(separatedBy: "<svg").count - 1 == 8)
                #expect(html.contains("class=\"ok\""))
                #expect(!html.contains("<script"))
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            }
            try await client.execute(uri: "/api/overview", method: .get, headers: bearer()) { response in
                let json = try response.json()
                let all = try #require(json["all"] as? [String: Any])
                let depth = try #require(all["depth"] as? [String: Int])
                #expect(depth["dead"] ?? 0 >= 2)
                #expect(depth["scheduled"] == 1)
                #expect((all["completed_last_hour"] as? Int ?? 0) > 0)
                let pickup = try #require(all["pickup_latency_seconds"] as? [String: Any])
                #expect(pickup["p50"] is Double)
                let day = try #require(all["last_day"] as? [String: Any])
                #expect((day["completed"] as? [Int])?.count == 24)
                #expect((json["queues"] as? [Any])?.count == 3)
            }
        }
    }

    @Test("the job list filters by state, queue, type, tenant and time, and pages")
    func jobListFilters() async throws {
        let fixture = try await Fixture.make(history: 30)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            let dead = try await client.execute(uri: "/api/jobs?state=dead&limit=500", method: .get, headers: bearer()) { try $0.json() }
            let deadJobs = try #require(dead["jobs"] as? [[String: Any]])
            #expect(!deadJobs.isEmpty && deadJobs.allSatisfy { $0["state"] as? String == "dead" })
            let email = try await client.execute(uri: "/api/jobs?queue=email&type=demo.email&tenant=acme", method: .get, headers: bearer()) { try $0.json() }
            let emailJobs = try #require(email["jobs"] as? [[String: Any]])
            #expect(!emailJobs.isEmpty)
            #expect(emailJobs.allSatisfy { $0["queue"] as? String == "email" && $0["type"] as? String == "demo.email" && $0["tenant"] as? String == "acme" })
            let recent = try await client.execute(uri: "/api/jobs?since=10m", method: .get, headers: bearer()) { try $0.json() }
            let recentIDs = (recent["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int64 }
            #expect(recentIDs.contains(fixture.scriptJob.rawValue))
            #expect(recentIDs.count < 10)
            // Paging: two pages of 5 are disjoint and ordered newest first.
            let first = try await client.execute(uri: "/api/jobs?limit=5", method: .get, headers: bearer()) { try $0.json() }
            let next = try #require(first["next_before_id"] as? Int64)
            let second = try await client.execute(uri: "/api/jobs?limit=5&before=\(next)", method: .get, headers: bearer()) { try $0.json() }
            let secondIDs = (second["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int64 }
            #expect(secondIDs.count == 5 && secondIDs.allSatisfy { $0 < next })
            try await client.execute(uri: "/jobs?state=dead&type=demo.email", method: .get, headers: bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("data-id=\"\(fixture.scriptJob.rawValue)\""))
                #expect(!response.text.contains("data-state=\"completed\""))
            }
            try await client.execute(uri: "/api/jobs?state=exploded", method: .get, headers: bearer()) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains("unknown state"))
            }
            try await client.execute(uri: "/jobs?since=yesterday-ish", method: .get, headers: bearer()) { #expect($0.status == .badRequest) }
        }
    }

    @Test("HTML and script in a payload and an error are escaped; secrets are redacted everywhere")
    func escapingAndRedaction() async throws {
        let fixture = try await Fixture.make(history: 12)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/jobs/\(fixture.scriptJob.rawValue)", method: .get, headers: bearer()) { response in
                let html = response.text
                #expect(response.status == .ok)
                #expect(!html.contains("<script"))
                #expect(!html.contains("<img"))
                #expect(!html.contains("<b>bold"))
                #expect(html.contains("&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;"))
                #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
                #expect(html.contains("[REDACTED]"))
                #expect(html.contains("worker-1") && html.contains("TimeoutError"))
            }
            var everything = ""
            let id = fixture.scriptJob.rawValue
            for path in ["/", "/jobs", "/jobs?state=dead", "/jobs/\(id)", "/jobs/\(fixture.globexDeadJob.rawValue)", "/dead-letters", "/scheduled",
                         "/api/overview", "/api/jobs?limit=500", "/api/jobs/\(id)", "/api/dead-letters", "/api/scheduled"] {
                try await client.execute(uri: path, method: .get, headers: bearer()) { response in
                    #expect(response.status == .ok, "\(path)")
                    everything += response.text
                    if !path.hasPrefix("/api") { #expect(!response.text.contains("<script"), "\(path)") }
                }
            }
            #expect(!everything.contains(Planted.secret))
            #expect(everything.contains("[REDACTED]"))
        }
    }

    @Test("form actions need the CSRF token from the cookie and a same-origin request; a reason is required; the audit trail shows it")
    func csrfAndAudit() async throws {
        let fixture = try await Fixture.make(history: 6)
        let app = Application(router: try fixture.dashboard().makeRouter())
        let id = fixture.scriptJob.rawValue
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/jobs/\(id)", method: .get, headers: basic("alice", Planted.adminToken)) { $0 }
            let cookie = try #require(page.cookie("surety_csrf"))
            let field = try #require(csrfField(in: page.text))
            #expect(cookie == field)
            func post(_ form: String, cookie: String?, origin: String? = nil) async throws -> TestResponse {
                var headers = basic("alice", Planted.adminToken)
                headers[.contentType] = "application/x-www-form-urlencoded"
                if let cookie { headers[.cookie] = "surety_csrf=\(cookie)" }
                if let origin { headers[.origin] = origin }
                return try await client.execute(uri: "/dead-letters/requeue", method: .post, headers: headers, body: ByteBuffer(string: form)) { $0 }
            }
            // No token, a wrong token, a token without its cookie, a foreign origin: refused.
            #expect(try await post("id=\(id)&reason=retry", cookie: cookie).status == .forbidden)
            #expect(try await post("id=\(id)&reason=retry&csrf=\(String(repeating: "x", count: 32))", cookie: cookie).status == .forbidden)
            #expect(try await post("id=\(id)&reason=retry&csrf=\(field)", cookie: nil).status == .forbidden)
            #expect(try await post("id=\(id)&reason=retry&csrf=\(field)", cookie: cookie, origin: "https://evil.example").status == .forbidden)
            #expect(try await fixture.store.job(fixture.scriptJob)?.state == .dead)
            // A blank reason: nothing happens, the page says why.
            let blank = try await post("id=\(id)&reason=+&csrf=\(field)&return=job", cookie: cookie)
            #expect(blank.status == .seeOther)
            #expect(blank.headers[.location]?.hasSuffix("?failed=reason") == true)
            #expect(try await fixture.store.job(fixture.scriptJob)?.state == .dead)
            // The real thing.
            let done = try await post("id=\(id)&reason=provider+key+rotated&csrf=\(field)&return=job", cookie: cookie)
            #expect(done.status == .seeOther)
            #expect(done.headers[.location] == "/jobs/\(id)?done=requeued&changed=1&skipped=0")
            #expect(try await fixture.store.job(fixture.scriptJob)?.state == .available)
            let audit = try await fixture.store.audit(of: fixture.scriptJob)
            #expect(audit.count == 1 && audit[0].action == "requeue" && audit[0].actor == "alice via token 'dashboard'" && audit[0].reason == "provider key rotated")
            try await client.execute(uri: "/jobs/\(id)", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("provider key rotated"))
                #expect(response.text.contains(">available</span>"))
            }
            try await client.execute(uri: "/dead-letters", method: .get, headers: bearer()) { response in
                #expect(!response.text.contains("class=\"dead-row\" data-id=\"\(id)\""))
                #expect(response.text.contains("provider key rotated"))
            }
        }
    }

    @Test("bulk discard of a dead-letter group through the JSON API, with a dry run first")
    func apiBulkActions() async throws {
        let fixture = try await Fixture.make(history: 30)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            let inbox = try await client.execute(uri: "/api/dead-letters", method: .get, headers: bearer()) { try $0.json() }
            let groups = try #require(inbox["groups"] as? [[String: Any]])
            let group = try #require(groups.first { $0["error_type"] as? String == "ProviderError" })
            let ids = try #require(group["job_ids"] as? [Int64])
            #expect(ids.count == group["count"] as? Int)
            var headers = bearer()
            headers[.contentType] = "application/json"
            let body = { (dry: Bool, reason: String) in ByteBuffer(string: #"{"ids":\#(ids),"reason":"\#(reason)","dry_run":\#(dry)}"#) }
            let dry = try await client.execute(uri: "/api/jobs/discard", method: .post, headers: headers, body: body(true, "bad batch")) { try $0.json() }
            #expect((dry["changed"] as? [Int64])?.sorted() == ids.sorted())
            #expect(try await fixture.store.job(JobID(ids[0]))?.state == .dead)
            try await client.execute(uri: "/api/jobs/discard", method: .post, headers: headers, body: body(false, "")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/jobs/discard", method: .post, headers: bearer(), body: body(false, "bad batch")) {
                #expect($0.status == .badRequest)  // not JSON: a cross-site form could send this
            }
            var crossSite = headers
            crossSite[.origin] = "http://evil.example"
            try await client.execute(uri: "/api/jobs/discard", method: .post, headers: crossSite, body: body(false, "bad batch")) { #expect($0.status == .forbidden) }
            let done = try await client.execute(uri: "/api/jobs/discard", method: .post, headers: headers, body: body(false, "bad batch")) { try $0.json() }
            #expect((done["changed"] as? [Int64])?.sorted() == ids.sorted())
            for id in ids {
                #expect(try await fixture.store.job(JobID(id))?.state == .cancelled)
                #expect(try await fixture.store.audit(of: JobID(id)).map(\.reason) == ["bad batch"])
            }
            try await client.execute(uri: "/api/jobs/\(ids[0])", method: .get, headers: bearer()) { response in
                let audit = try #require(try response.json()["audit"] as? [[String: Any]])
                #expect(audit.first?["action"] as? String == "discard" && audit.first?["actor"] as? String == "token 'dashboard'")
            }
        }
    }

    @Test("a tenant credential sees and acts on its own tenant's jobs only")
    func tenantRestriction() async throws {
        let fixture = try await Fixture.make(history: 20)
        let app = Application(router: try fixture.dashboard(metrics: PrometheusCollectorRegistry()).makeRouter())
        try await app.test(.router) { client in
            let acme = bearer(Planted.acmeToken)
            let all = try await client.execute(uri: "/api/jobs?limit=500", method: .get, headers: acme) { try $0.json() }
            let tenants = Set((all["jobs"] as? [[String: Any]] ?? []).compactMap { $0["tenant"] as? String })
            #expect(tenants == ["acme"])
            let other = try await client.execute(uri: "/api/jobs?tenant=globex", method: .get, headers: acme) { try $0.json() }
            #expect((other["jobs"] as? [Any])?.isEmpty == true)
            try await client.execute(uri: "/api/jobs/\(fixture.globexDeadJob.rawValue)", method: .get, headers: acme) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/jobs/\(fixture.globexDeadJob.rawValue)", method: .get, headers: acme) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/dead-letters", method: .get, headers: acme) { response in
                #expect(!response.text.contains("data-id=\"\(fixture.globexDeadJob.rawValue)\""))
                #expect(response.text.contains("data-id=\"\(fixture.scriptJob.rawValue)\""))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: acme) { #expect($0.status == .forbidden) }
            var headers = acme
            headers[.contentType] = "application/json"
            let result = try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: headers,
                                                  body: ByteBuffer(string: #"{"ids":[\#(fixture.globexDeadJob.rawValue),\#(fixture.scriptJob.rawValue)],"reason":"retry"}"#)) { try $0.json() }
            #expect(result["changed"] as? [Int64] == [fixture.scriptJob.rawValue])
            let skipped = try #require(result["skipped"] as? [[String: Any]])
            #expect(skipped.first?["id"] as? Int64 == fixture.globexDeadJob.rawValue && skipped.first?["reason"] as? String == "not found")
            #expect(try await fixture.store.job(fixture.globexDeadJob)?.state == .dead)
            #expect(try await fixture.store.audit(of: fixture.scriptJob).first?.actor == "token 'tenant:acme'")
        }
    }

    @Test("a read-only dashboard refuses actions; anonymous read-only access reads but never acts")
    func readOnly() async throws {
        let fixture = try await Fixture.make(history: 6)
        for anonymous in [false, true] {
            let app = Application(router: try fixture.dashboard(readOnly: true, anonymous: anonymous).makeRouter())
            try await app.test(.router) { client in
                let headers: HTTPFields = anonymous ? [:] : bearer()
                try await client.execute(uri: "/jobs/\(fixture.scriptJob.rawValue)", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    #expect(!response.text.contains("requeue-form"))
                    #expect(response.text.contains("read-only"))
                }
                var json = headers
                json[.contentType] = "application/json"
                try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: json,
                                         body: ByteBuffer(string: #"{"ids":[\#(fixture.scriptJob.rawValue)],"reason":"retry"}"#)) {
                    #expect($0.status == .forbidden)
                }
            }
        }
        #expect(try await fixture.store.job(fixture.scriptJob)?.state == .dead)
        #expect(throws: DashboardError.self) { try Dashboard(store: fixture.store).validate() }
    }

    @Test("sign-in with the token opens a session cookie; a wrong token does not; sign-out ends it")
    func signIn() async throws {
        let fixture = try await Fixture.make(history: 3)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "token=nope-nope-nope&next=/jobs")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.cookie("surety_session") == nil)
            }
            let login = try await client.execute(uri: "/login", method: .post, headers: form,
                                                 body: ByteBuffer(string: "name=bob&token=\(Planted.adminToken)&next=https://evil.example/")) { $0 }
            #expect(login.status == .seeOther)
            #expect(login.headers[.location] == "/")
            let session = try #require(login.cookie("surety_session"))
            #expect(login.headers[values: .setCookie].allSatisfy { $0.contains("HttpOnly") && $0.contains("SameSite=Strict") })
            let page = try await client.execute(uri: "/", method: .get, headers: [.cookie: "surety_session=\(session)"]) { $0 }
            #expect(page.status == .ok)
            #expect(page.text.contains("bob"))
            let csrf = try #require(csrfField(in: page.text))
            let cookieCSRF = try #require(page.cookie("surety_csrf"))
            try await client.execute(uri: "/logout", method: .post,
                                     headers: [.cookie: "surety_session=\(session); surety_csrf=\(cookieCSRF)", .contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "csrf=\(csrf)")) { #expect($0.status == .seeOther) }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "surety_session=\(session)"]) { #expect($0.status == .seeOther) }
        }
    }

    @Test("/metrics serves surety_* series from the QueueDepthSampler through swift-prometheus")
    func prometheusMetrics() async throws {
        let fixture = try await Fixture.make(history: 6)
        let registry = PrometheusCollectorRegistry()
        try await QueueDepthSampler(store: fixture.store, metrics: MetricsOptions(factory: PrometheusMetricsFactory(registry: registry))).sampleOnce()
        let app = Application(router: try fixture.dashboard(metrics: registry).makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = response.text
                #expect(text.contains("# TYPE surety_queue_depth gauge"))
                #expect(text.contains(#"surety_queue_depth{queue="email",state="dead"} 1"#))
                #expect(text.contains(#"surety_dead_letter_size{queue="payments"} "#))
            }
        }
        // Served unauthenticated by a user's own router.
        let router = Router()
        router.addRoutes(PrometheusExposition.routes(registry: registry))
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.text.contains("surety_queue_depth")) }
        }
    }

    @Test("the dashboard mounts under a path in a user's own router; links follow the mount point")
    func mounting() async throws {
        let fixture = try await Fixture.make(history: 3)
        let dashboard = try fixture.dashboard(basePath: "/ops/surety")
        let router = Router()
        router.get("/hello") { _, _ in "hello" }
        router.addRoutes(dashboard.routes(context: BasicRequestContext.self), atPath: "/ops/surety")
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/hello", method: .get) { #expect($0.text == "hello") }
            try await client.execute(uri: "/ops/surety/jobs", method: .get) { response in
                #expect(response.headers[.location]?.hasPrefix("/ops/surety/login") == true)
            }
            try await client.execute(uri: "/ops/surety/jobs", method: .get, headers: bearer()) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("href=\"/ops/surety/dead-letters\""))
                #expect(response.text.contains("href=\"/ops/surety/jobs/\(fixture.scriptJob.rawValue)\""))
            }
            try await client.execute(uri: "/ops/surety/api/openapi.json", method: .get, headers: bearer()) { response in
                let json = try response.json()
                #expect(json["openapi"] as? String == "3.1.0")
                #expect((json["paths"] as? [String: Any])?["/api/jobs/requeue"] != nil)
            }
        }
    }

    @Test("scheduled jobs are listed soonest first")
    func scheduledPage() async throws {
        let fixture = try await Fixture.make(history: 3)
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/scheduled", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("href=\"/jobs/\(fixture.scheduledJob.rawValue)\""))
            }
            let json = try await client.execute(uri: "/api/scheduled", method: .get, headers: bearer()) { try $0.json() }
            #expect((json["jobs"] as? [[String: Any]])?.map { $0["id"] as? Int64 } == [fixture.scheduledJob.rawValue])
        }
    }

    @Test("surety serve refuses to start without a token unless read-only on loopback")
    func serveRefusesWithoutToken() async throws {
        let dir = try TempDir()
        let store = "sqlite:" + dir.file("s.sqlite")
        #expect(await SuretyCommand.run(arguments: ["serve", "--store", store, "--port", "0"]) == ExitCodes.usage)
        #expect(await SuretyCommand.run(arguments: ["serve", "--store", store, "--host", "0.0.0.0", "--read-only", "--port", "0"]) == ExitCodes.usage)
        #expect(await SuretyCommand.run(arguments: ["serve", "--store", store, "--token", "short"]) == ExitCodes.usage)
        #expect(await SuretyCommand.run(arguments: ["serve", "--store", store, "--tenant-token", "acme", "--token", "long-enough-token"]) == ExitCodes.usage)
    }
}
