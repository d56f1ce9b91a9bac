import Foundation
import Hummingbird
import HummingbirdTesting
import Surety
import SuretyAlerts
import SuretyCLI
import SuretyDashboard
import SuretyTesting
import Testing

/// The alerts page, recurring schedules on /scheduled (with pause and resume), and the overview
/// from the store's aggregation.
@Suite("Dashboard alerts, schedules and statistics")
struct AlertsAndSchedulesTests {
    /// 2026-11-23 10:00:00 UTC.
    static let fixed = Date(timeIntervalSince1970: 1_795_428_000)

    static func dashboard(_ fixture: Fixture, now: Date, readOnly: Bool = false, sampleLimit: Int = 20_000) throws -> Dashboard {
        Dashboard(store: fixture.store, registry: DemoJobs.registry,
                  configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: Planted.adminToken),
                                                                      try DashboardCredential(token: Planted.acmeToken, tenant: Fixture.tenantAcme)],
                                                        readOnly: readOnly, sampleLimit: sampleLimit),
                  clock: TestClock(now: now))
    }

    static func plantAlert(_ store: some AlertStateStore, key: String, kind: AlertRule.Kind, subject: String, firingSince: Date,
                           resolvedAt: Date?, escalatedAt: Date?, summary: String, message: String) async throws {
        let alert = Alert(
            key: key, rule: String(key.split(separator: "/")[0]), kind: kind, jobType: subject, queue: "email", queues: ["email"],
            environment: "staging", summary: summary, firstFailureAt: firingSince.addingTimeInterval(-60), firingSince: firingSince,
            observedAt: firingSince.addingTimeInterval(600), resolvedAt: resolvedAt,
            lastError: Alert.ErrorSummary(type: "HTMLError", errorClass: "permanent", message: message, jobID: JobID(1), at: firingSince),
            affected: 12, value: 12, threshold: 1, deadLetter: .init(count: 12, arrivedInWindow: 3), whatToDo: "Open the inbox <b>now</b>"
        )
        let state = AlertState(status: resolvedAt == nil ? .firing : .resolved, alert: alert, lastNoticeAt: firingSince.addingTimeInterval(300),
                               lastNoticeValue: 12, notices: 2, escalatedAt: escalatedAt)
        let record = AlertStateRecord(key: key, status: state.status.rawValue, version: 1, updatedAt: firingSince.addingTimeInterval(600), body: state.encoded())
        #expect(try await store.saveAlertState(record, expectedVersion: nil))
    }

    @Test("the alerts page shows firing and recently resolved alerts with rule, group, severity, times and escalation, escaped; the API too")
    func alertsPage() async throws {
        let fixture = try await Fixture.make(history: 3)
        let since = Self.fixed.addingTimeInterval(-1800)
        try await Self.plantAlert(fixture.store, key: "dead-letter/demo.email", kind: .deadLetter, subject: "demo.email", firingSince: since,
                                  resolvedAt: nil, escalatedAt: since.addingTimeInterval(900), summary: Planted.scriptSubject, message: Planted.scriptError)
        try await Self.plantAlert(fixture.store, key: "failure-ratio/demo.payment", kind: .failureRatio, subject: "demo.payment",
                                  firingSince: since.addingTimeInterval(-7200), resolvedAt: since.addingTimeInterval(-3600), escalatedAt: nil,
                                  summary: "demo.payment: 60% of attempts failed", message: "ledger timeout")
        let app = Application(router: try Self.dashboard(fixture, now: Self.fixed).makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/alerts", method: .get, headers: bearer()) { response in
                #expect(response.status == .ok)
                let html = response.text
                #expect(!html.contains("alerts-pending"), "no placeholder")
                #expect(html.contains("Firing (1)"))
                #expect(html.contains("data-key=\"dead-letter/demo.email\""))
                #expect(html.contains("<b>dead-letter</b> · demo.email · staging"), "rule, group and environment")
                #expect(html.contains(">escalated</span>"), "severity")
                #expect(html.contains("2026-11-23 09:30:00"), "firing since")
                #expect(html.contains("2026-11-23 09:35:00 (2 notices)"), "last notified")
                #expect(html.contains("2026-11-23 09:45:00"), "escalated at")
                #expect(html.contains("href=\"/dead-letters?type=demo%2Eemail\"") || html.contains("href=\"/dead-letters?type=demo.email\""))
                #expect(html.contains("data-key=\"failure-ratio/demo.payment\""), "recently resolved")
                #expect(html.contains("2026-11-23 08:30:00"), "resolved at")
                // Escaped, never rendered.
                #expect(!html.contains("<script>alert"))
                #expect(!html.contains("<img src=x"))
                #expect(html.contains("&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;") || html.contains("&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;") || html.contains("&lt;script&gt;"))
                #expect(html.contains("Open the inbox &lt;b&gt;now&lt;/b&gt;"))
            }
            let json = try await client.execute(uri: "/api/alerts", method: .get, headers: bearer()) { try $0.json() }
            let alerts = try #require(json["alerts"] as? [[String: Any]])
            #expect(alerts.map { $0["key"] as? String } == ["dead-letter/demo.email", "failure-ratio/demo.payment"], "firing first")
            #expect(alerts[0]["severity"] as? String == "escalated" && alerts[1]["severity"] as? String == "resolved")
            #expect(alerts[0]["group"] as? String == "demo.email" && alerts[0]["rule"] as? String == "dead-letter")
            #expect(alerts[0]["firing_since"] as? String == "2026-11-23T09:30:00.000Z")
            #expect(alerts[0]["last_notified_at"] as? String == "2026-11-23T09:35:00.000Z")
            #expect(alerts[0]["escalated_at"] as? String == "2026-11-23T09:45:00.000Z")
            #expect((alerts[0]["last_error"] as? [String: Any])?["message"] as? String == Planted.scriptError)
            #expect(alerts[1]["resolved_at"] as? String == "2026-11-23T08:30:00.000Z")
            // Alerts span every tenant: a tenant credential may not read them.
            try await client.execute(uri: "/api/alerts", method: .get, headers: bearer(Planted.acmeToken)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/alerts", method: .get, headers: bearer(Planted.acmeToken)) { response in
                #expect(response.status == .forbidden)
                #expect(!response.text.contains("demo.email: "))
            }
            let openapi = try await client.execute(uri: "/api/openapi.json", method: .get, headers: bearer()) { try $0.json() }
            let paths = try #require(openapi["paths"] as? [String: Any])
            for path in ["/api/alerts", "/api/schedules", "/api/schedules/pause", "/api/schedules/resume"] { #expect(paths[path] != nil, "\(path)") }
        }
    }

    @Test("an empty alert table says no alert is firing")
    func noAlerts() async throws {
        let fixture = try await Fixture.make(history: 1)
        let app = Application(router: try Self.dashboard(fixture, now: Self.fixed).makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/alerts", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("id=\"no-alerts\""))
            }
            #expect((try await client.execute(uri: "/api/alerts", method: .get, headers: bearer()) { try $0.json() })["alerts"] as? [Any] != nil)
        }
    }

    @Test("recurring schedules on /scheduled with their next runs; pause and resume are CSRF-protected, need a reason, and follow tenant rules")
    func schedules() async throws {
        let fixture = try await Fixture.make(history: 1)
        let store = fixture.store
        try await store.saveSchedules([
            ScheduleDefinition(name: "nightly-report", expression: "0 30 2 * * *", timeZone: "Europe/Berlin", jobType: "demo.noop", queue: "default",
                               tenant: Fixture.tenantAcme, overlap: "skip", missed: "run_latest"),
            ScheduleDefinition(name: "noon-<sync>", expression: "0 12 * * *", timeZone: "UTC", jobType: "demo.email", queue: "email",
                               tenant: Fixture.tenantGlobex, overlap: "allow", missed: "skip"),
        ], now: Self.fixed.addingTimeInterval(-86400))
        try await store.recordScheduleSlot("nightly-report", slot: Self.fixed.addingTimeInterval(-27000), jobID: fixture.scheduledJob)
        let app = Application(router: try Self.dashboard(fixture, now: Self.fixed).makeRouter())
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/scheduled", method: .get, headers: basic("alice", Planted.adminToken)) { $0 }
            let html = page.text
            #expect(html.contains("data-name=\"nightly-report\" data-paused=\"false\""))
            #expect(html.contains("<code>0 30 2 * * *</code></td><td>Europe/Berlin</td>"))
            // 02:30 in Berlin is 01:30 UTC in November; noon UTC from 10:00.
            #expect(html.contains("2026-11-24 01:30:00, 2026-11-25 01:30:00, 2026-11-26 01:30:00"), "next runs of nightly-report")
            #expect(html.contains("2026-11-23 12:00:00, 2026-11-24 12:00:00, 2026-11-25 12:00:00"), "next runs of noon-sync")
            #expect(html.contains("<td>skip</td><td>run_latest</td>"), "overlap and missed-run policy")
            #expect(html.contains("2026-11-23 02:30:00 (<a href=\"/jobs/\(fixture.scheduledJob.rawValue)\">"), "last slot and its job")
            #expect(html.contains("noon-&lt;sync&gt;") && !html.contains("noon-<sync>"), "escaped")
            #expect(html.contains("href=\"/jobs/\(fixture.scheduledJob.rawValue)\""), "scheduled jobs still listed")
            let cookie = try #require(page.cookie("surety_csrf"))
            let field = try #require(csrfField(in: html))
            func post(_ path: String, _ form: String, cookie: String?) async throws -> TestResponse {
                var headers = basic("alice", Planted.adminToken)
                headers[.contentType] = "application/x-www-form-urlencoded"
                if let cookie { headers[.cookie] = "surety_csrf=\(cookie)" }
                return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: form)) { $0 }
            }
            #expect(try await post("/scheduled/pause", "name=nightly-report&reason=outage", cookie: cookie).status == .forbidden, "no CSRF token")
            #expect(try await post("/scheduled/pause", "name=nightly-report&reason=outage&csrf=\(field)", cookie: nil).status == .forbidden, "no cookie")
            let blank = try await post("/scheduled/pause", "name=nightly-report&reason=+&csrf=\(field)", cookie: cookie)
            #expect(blank.headers[.location] == "/scheduled?failed=reason")
            #expect(try await store.schedules().first { $0.definition.name == "nightly-report" }?.paused == false)
            let done = try await post("/scheduled/pause", "name=nightly-report&reason=provider+outage&csrf=\(field)", cookie: cookie)
            #expect(done.headers[.location] == "/scheduled?done=paused")
            let paused = try #require(try await store.schedules().first { $0.definition.name == "nightly-report" })
            #expect(paused.paused && paused.changedBy == "alice via token 'dashboard'" && paused.changeReason == "provider outage")
            try await client.execute(uri: "/scheduled", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("data-name=\"nightly-report\" data-paused=\"true\""))
                #expect(response.text.contains("paused by alice via token &#39;dashboard&#39; at 2026-11-23 10:00:00: provider outage"))
                #expect(response.text.contains("action=\"/scheduled/resume\""))
            }
            let api = try await client.execute(uri: "/api/schedules", method: .get, headers: bearer()) { try $0.json() }
            let listed = try #require(api["schedules"] as? [[String: Any]])
            #expect(listed.map { $0["name"] as? String } == ["nightly-report", "noon-<sync>"])
            #expect(listed[0]["paused"] as? Bool == true && (listed[0]["next_runs"] as? [String])?.isEmpty == true)
            #expect(listed[1]["next_runs"] as? [String] == ["2026-11-23T12:00:00.000Z", "2026-11-24T12:00:00.000Z", "2026-11-25T12:00:00.000Z"])

            // A tenant credential sees and acts on its tenant's schedules only.
            var acme = bearer(Planted.acmeToken)
            acme[.contentType] = "application/json"
            let mine = try await client.execute(uri: "/api/schedules", method: .get, headers: acme) { try $0.json() }
            #expect((mine["schedules"] as? [[String: Any]])?.map { $0["name"] as? String } == ["nightly-report"])
            try await client.execute(uri: "/scheduled", method: .get, headers: acme) { #expect(!$0.text.contains("noon-&lt;sync&gt;")) }
            try await client.execute(uri: "/api/schedules/pause", method: .post, headers: acme,
                                     body: ByteBuffer(string: #"{"name":"noon-<sync>","reason":"not mine"}"#)) { #expect($0.status == .notFound) }
            #expect(try await store.schedules().first { $0.definition.name == "noon-<sync>" }?.paused == false)
            try await client.execute(uri: "/api/schedules/resume", method: .post, headers: acme,
                                     body: ByteBuffer(string: #"{"name":"nightly-report"}"#)) { #expect($0.status == .badRequest, "a reason is required") }
            try await client.execute(uri: "/api/schedules/resume", method: .post, headers: bearer(Planted.acmeToken),
                                     body: ByteBuffer(string: #"{"name":"nightly-report","reason":"x"}"#)) { #expect($0.status == .badRequest, "not JSON") }
            let resumed = try await client.execute(uri: "/api/schedules/resume", method: .post, headers: acme,
                                                   body: ByteBuffer(string: #"{"name":"nightly-report","reason":"provider back"}"#)) { try $0.json() }
            let schedule = try #require(resumed["schedule"] as? [String: Any])
            #expect(schedule["paused"] as? Bool == false && schedule["changed_by"] as? String == "token 'tenant:acme'")
            #expect(schedule["next_runs"] as? [String] == ["2026-11-24T01:30:00.000Z", "2026-11-25T01:30:00.000Z", "2026-11-26T01:30:00.000Z"])
            #expect(try await store.schedules().first { $0.definition.name == "nightly-report" }?.paused == false)
        }
        // A read-only dashboard shows no forms and refuses the API.
        let readOnly = Application(router: try Self.dashboard(fixture, now: Self.fixed, readOnly: true).makeRouter())
        try await readOnly.test(.router) { client in
            try await client.execute(uri: "/scheduled", method: .get, headers: bearer()) { #expect(!$0.text.contains("action=\"/scheduled/pause\"")) }
            var json = bearer()
            json[.contentType] = "application/json"
            try await client.execute(uri: "/api/schedules/pause", method: .post, headers: json,
                                     body: ByteBuffer(string: #"{"name":"nightly-report","reason":"x"}"#)) { #expect($0.status == .forbidden) }
        }
        #expect(try await store.schedules().allSatisfy { !$0.paused })
    }

    @Test("overview figures are the store's exact aggregation, not a sample")
    func overviewIsAggregated() async throws {
        let fixture = try await Fixture.make(history: 40)
        let now = fixture.now
        let finished = try await fixture.store.jobs(JobFilter(states: [.completed, .dead], limit: 10_000))
        let hourAgo = now.addingTimeInterval(-3600)
        let completedInHour = finished.filter { $0.state == .completed && ($0.finishedAt ?? .distantPast) >= hourAgo }.count
        let deadTotal = finished.filter { $0.state == .dead }.count
        // A sample limit of 5 would truncate the old sampled overview.
        let app = Application(router: try Self.dashboard(fixture, now: now, sampleLimit: 5).makeRouter())
        try await app.test(.router) { client in
            let json = try await client.execute(uri: "/api/overview", method: .get, headers: bearer()) { try $0.json() }
            #expect(json["aggregated"] as? Bool == true)
            let all = try #require(json["all"] as? [String: Any])
            #expect(all["completed_last_hour"] as? Int == completedInHour)
            #expect(all["dead_letter_size"] as? Int == deadTotal)
            let day = try #require(all["last_day"] as? [String: Any])
            #expect((day["completed"] as? [Int])?.reduce(0, +) == finished.filter { $0.state == .completed }.count)
            try await client.execute(uri: "/", method: .get, headers: bearer()) { response in
                #expect(!response.text.contains("most recent jobs enqueued"))
            }
            // A tenant's overview counts only its jobs.
            let acme = try await client.execute(uri: "/api/overview", method: .get, headers: bearer(Planted.acmeToken)) { try $0.json() }
            let acmeDead = finished.filter { $0.state == .dead && $0.tenant == Fixture.tenantAcme }.count
            #expect((acme["all"] as? [String: Any])?["dead_letter_size"] as? Int == acmeDead)
        }
    }
}
