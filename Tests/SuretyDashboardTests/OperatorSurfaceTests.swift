import Foundation
import Hummingbird
import HummingbirdTesting
import Surety
@testable import SuretyCLI
import SuretyDashboard
import SuretySQLite
import Testing

/// A password-reset job whose unique key is built from its secret token, as real jobs do.
struct PasswordResetJob: Job {
    static let name = "test.password_reset"
    static let secretFields: Set<String> = ["token"]
    var user: String
    var token: String
    var uniqueKey: String? { "reset:\(user):\(token)" }
    func run(_ context: JobContext) async throws {}
}

/// Runs `job` once and dead-letters it with `reason` and an error `message`, through the store's
/// real transitions.
func deadLetter(_ store: SQLiteStore, _ job: NewJob, reason: DeadReason, message: String) async throws -> JobID {
    let id = try await store.enqueue([job])[0].id
    let now = job.runAt.addingTimeInterval(1)
    let claimed = try await store.claim(ClaimRequest(queues: [job.queue], limit: 1, worker: "worker-1", now: now,
                                                     leaseUntil: now.addingTimeInterval(30)))
    try #require(claimed.count == 1 && claimed[0].id == id)
    let results = try await store.finish([AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-1",
                                                        startedAt: now, endedAt: now.addingTimeInterval(0.1), outcome: .failed,
                                                        error: AttemptError(type: "PayloadDecodingFailure", message: message, errorClass: .permanent),
                                                        next: .dead(reason))])
    try #require(results == [.applied])
    return id
}

/// A store whose every call fails with an error naming a file path and a database host, as a real
/// store's connection or I/O errors do.
struct FailingStore: JobInspectionStore, OperatorActionStore {
    static let detail = "cannot reach postgres://surety_app@db-7.internal.example:5432/prod (socket /var/run/secret-cluster/.s.PGSQL.5432)"
    var error: SuretyError { SuretyError(.storeUnavailable, Self.detail) }
    func migrate() async throws { throw error }
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] { throw error }
    func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] { throw error }
    func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] { throw error }
    func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] { throw error }
    func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] { throw error }
    func job(_ id: JobID) async throws -> JobRecord? { throw error }
    func jobs(_ filter: JobFilter) async throws -> [JobRecord] { throw error }
    func attempts(of id: JobID) async throws -> [AttemptRecord] { throw error }
    func audit(of id: JobID) async throws -> [AuditRecord] { throw error }
    func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { throw error }
    func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { throw error }
    func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { throw error }
    func counts() async throws -> [JobCount] { throw error }
}

@Suite("Operator surfaces: review 2026-12 items 12, 17, 18")
struct OperatorSurfaceTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    @Test("item 12: after sign-in, next=/%09/evil.example (and other tricks) redirects to the dashboard, never off-site")
    func signInNextRefusesTabAndOtherTricks() async throws {
        let fixture = try await Fixture.make(history: 1)
        for basePath in ["", "/ops"] {
            let app = Application(router: try fixture.dashboard(basePath: basePath).makeRouter())
            try await app.test(.router) { client in
                func location(_ next: String) async throws -> String? {
                    try await client.execute(uri: "\(basePath)/login", method: .post, headers: Self.form,
                                             body: ByteBuffer(string: "token=\(Planted.adminToken)&next=\(next)")) { response in
                        #expect(response.status == .seeOther)
                        return response.headers[.location]
                    }
                }
                let home = basePath + "/"
                let tab = try await location("\(basePath)/%09/evil.example")
                #expect(tab == home, "TAB, base \(basePath)")
                for next in ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "%09//evil.example", "/%20/evil.example",
                             "//evil.example", "/%5C/evil.example", "\(basePath)/%5Cevil.example", "https://evil.example/",
                             "\(basePath)/%7F/x", "\(basePath)/%C2%85/x", "javascript:alert(1)"] {
                    let followed = try await location(next)
                    #expect(followed == home, "\(next), base \(basePath)")
                }
                // Local paths under the base are still followed.
                let local = try await location("\(basePath)/jobs%3Fstate%3Ddead%26type%3Ddemo.email")
                #expect(local == "\(basePath)/jobs?state=dead&type=demo.email")
            }
        }
    }

    @Test("item 17: a unique key computed from a secret field never shows on the job page, in /api/jobs or /api/jobs/{id}")
    func uniqueKeyIsScrubbed() async throws {
        let fixture = try await Fixture.make(history: 1)
        var registry = DemoJobs.registry
        registry.register(PasswordResetJob.self)
        let secret = "rst_PLANTED_TOKEN_0042"
        let queue = JobQueue(store: fixture.store, registry: registry)
        let enqueued = try await queue.enqueue(PasswordResetJob(user: "u-17", token: secret), tenant: Fixture.tenantAcme)
        // A job of a type this build does not know: its unique key cannot be scrubbed, so it is masked.
        let unknown = try await fixture.store.enqueue([NewJob(type: "billing.charge", queue: "default", priority: 2, tenant: Fixture.tenantAcme,
                                                              payload: #"{"card":"\#(secret)"}"#, runAt: fixture.now, enqueuedAt: fixture.now,
                                                              maxAttempts: 3, uniqueKey: "charge:\(secret)")])[0].id
        #expect(try await fixture.store.job(enqueued.id)?.uniqueKey?.contains(secret) == true, "the test plants the secret in the key")
        let dashboard = Dashboard(store: fixture.store, registry: registry,
                                  configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: Planted.adminToken)]))
        try await Application(router: dashboard.makeRouter()).test(.router) { client in
            var everything = ""
            for path in ["/jobs/\(enqueued.id.rawValue)", "/jobs/\(unknown.rawValue)", "/jobs", "/api/jobs?limit=500",
                         "/api/jobs/\(enqueued.id.rawValue)", "/api/jobs/\(unknown.rawValue)"] {
                try await client.execute(uri: path, method: .get, headers: bearer()) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(!response.text.contains(secret), "the secret leaked on \(path)")
                    everything += response.text
                }
            }
            #expect(everything.contains("reset:u-17:[REDACTED]"), "the rest of the key is still shown")
            let job = try await client.execute(uri: "/api/jobs/\(enqueued.id.rawValue)", method: .get, headers: bearer()) { try $0.json() }
            #expect((job["job"] as? [String: Any])?["unique_key"] as? String == "reset:u-17:[REDACTED]")
            let other = try await client.execute(uri: "/api/jobs/\(unknown.rawValue)", method: .get, headers: bearer()) { try $0.json() }
            #expect((other["job"] as? [String: Any])?["unique_key"] as? String == "[REDACTED: unknown job type]")
        }
    }

    @Test("item 17: dead-letter groups (page and /api/dead-letters) scrub the error message like every other view")
    func deadLetterGroupsScrubErrorMessages() async throws {
        let fixture = try await Fixture.make(history: 1)
        // An older row (or a custom store) whose recorded message still carries the secret.
        _ = try await deadLetter(fixture.store, NewJob(type: "demo.email", queue: "email", priority: 2, tenant: Fixture.tenantAcme,
                                                       payload: #"{"to":"a@b.example","subject":"hi","secret":"\#(Planted.secret)"}"#,
                                                       runAt: fixture.now.addingTimeInterval(-60), enqueuedAt: fixture.now.addingTimeInterval(-60), maxAttempts: 1),
                                 reason: .permanentError, message: "provider refused key \(Planted.secret)")
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            for path in ["/dead-letters", "/api/dead-letters"] {
                try await client.execute(uri: path, method: .get, headers: bearer()) { response in
                    #expect(response.status == .ok)
                    #expect(!response.text.contains(Planted.secret), "the secret leaked on \(path)")
                    #expect(response.text.contains("provider refused key [REDACTED]"), "\(path)")
                }
            }
        }
    }

    @Test("item 18a: surety serve --secure-cookies marks the sign-in cookies Secure; without it they are not")
    func serveSecureCookies() async throws {
        let fixture = try await Fixture.make(history: 1)
        for secure in [true, false] {
            let command = try ServeCommand.parse(["--token", Planted.adminToken] + (secure ? ["--secure-cookies"] : []))
            let configuration = command.dashboardConfiguration(credentials: try command.credentials(environment: [:]))
            #expect(configuration.secureCookies == secure)
            let dashboard = Dashboard(store: fixture.store, registry: DemoJobs.registry, configuration: configuration)
            try await Application(router: dashboard.makeRouter()).test(.router) { client in
                try await client.execute(uri: "/login", method: .post, headers: Self.form,
                                         body: ByteBuffer(string: "token=\(Planted.adminToken)&next=/")) { response in
                    #expect(response.status == .seeOther)
                    let cookies = response.headers[values: .setCookie]
                    #expect(cookies.count == 2)
                    #expect(cookies.allSatisfy { $0.contains("Secure") == secure }, "\(cookies)")
                }
            }
        }
    }

    @Test("item 18b: requeue of an undecodable_payload job is refused by the API and the form unless forced")
    func undecodablePayloadNeedsForce() async throws {
        let fixture = try await Fixture.make(history: 1)
        func plant() async throws -> JobID {
            try await deadLetter(fixture.store, NewJob(type: "demo.email", queue: "email", priority: 2, tenant: Fixture.tenantAcme,
                                                       payload: #"{"to":1}"#, runAt: fixture.now.addingTimeInterval(-60),
                                                       enqueuedAt: fixture.now.addingTimeInterval(-60), maxAttempts: 5),
                                 reason: .undecodablePayload, message: "demo.email: payload does not decode")
        }
        let apiJob = try await plant(), formJob = try await plant()
        let app = Application(router: try fixture.dashboard().makeRouter())
        try await app.test(.router) { client in
            // JSON API.
            var json = bearer()
            json[.contentType] = "application/json"
            func api(_ body: String) async throws -> [String: Any] {
                try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: json, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok)
                    return try response.json()
                }
            }
            for dry in [true, false] {
                let refused = try await api(#"{"ids":[\#(apiJob.rawValue)],"reason":"retry","dry_run":\#(dry)}"#)
                #expect((refused["changed"] as? [Int64])?.isEmpty == true, "dry run \(dry)")
                let skipped = try #require((refused["skipped"] as? [[String: Any]])?.first)
                #expect((skipped["reason"] as? String)?.contains("undecodable_payload") == true, "\(skipped)")
                #expect(try await fixture.store.job(apiJob)?.state == .dead)
            }
            let forced = try await api(#"{"ids":[\#(apiJob.rawValue)],"reason":"type fixed","force":true}"#)
            #expect(forced["changed"] as? [Int64] == [apiJob.rawValue])
            #expect(try await fixture.store.job(apiJob)?.state == .available)

            // HTML form: the job page offers the force box for this dead reason.
            let page = try await client.execute(uri: "/jobs/\(formJob.rawValue)", method: .get, headers: bearer()) { $0 }
            #expect(page.text.contains("name=\"force\""))
            let cookie = try #require(page.cookie("surety_csrf")), csrf = try #require(csrfField(in: page.text))
            var headers = bearer()
            headers[.contentType] = "application/x-www-form-urlencoded"
            headers[.cookie] = "surety_csrf=\(cookie)"
            func post(_ form: String) async throws -> TestResponse {
                try await client.execute(uri: "/dead-letters/requeue", method: .post, headers: headers, body: ByteBuffer(string: form)) { $0 }
            }
            let refused = try await post("id=\(formJob.rawValue)&reason=retry&csrf=\(csrf)&return=job")
            #expect(refused.status == .seeOther)
            #expect(try await fixture.store.job(formJob)?.state == .dead)
            let banner = try await client.execute(uri: try #require(refused.headers[.location]), method: .get, headers: bearer()) { $0.text }
            #expect(banner.contains("undecodable_payload"), "the banner says why it was skipped")
            _ = try await post("id=\(formJob.rawValue)&reason=type+fixed&force=1&csrf=\(csrf)&return=job")
            #expect(try await fixture.store.job(formJob)?.state == .available)
            // A job that is not undecodable needs no force.
            _ = try await post("id=\(fixture.scriptJob.rawValue)&reason=retry&csrf=\(csrf)")
            #expect(try await fixture.store.job(fixture.scriptJob)?.state == .available)
        }
    }

    @Test("item 18c: the audit row names the credential next to the claimed actor")
    func auditRecordsTheCredential() async throws {
        let fixture = try await Fixture.make(history: 1)
        let ops = try DashboardCredential(token: "ops-token-0123456789", name: "ops")
        let acme = try DashboardCredential(token: Planted.acmeToken, tenant: Fixture.tenantAcme)
        let dashboard = Dashboard(store: fixture.store, registry: DemoJobs.registry,
                                  configuration: DashboardConfiguration(credentials: [ops, acme]))
        var planted: [JobID] = []
        for index in 0..<3 {
            planted.append(try await deadLetter(fixture.store, NewJob(type: "demo.noop", queue: "default", priority: 2, tenant: Fixture.tenantAcme,
                                                                   payload: "{}", runAt: fixture.now.addingTimeInterval(-60 - Double(index)),
                                                                   enqueuedAt: fixture.now.addingTimeInterval(-60 - Double(index)), maxAttempts: 1),
                                             reason: .permanentError, message: "failed"))
        }
        let dead = planted
        try await Application(router: dashboard.makeRouter()).test(.router) { client in
            func requeue(_ id: JobID, _ headers: HTTPFields) async throws {
                var headers = headers
                headers[.contentType] = "application/json"
                try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: headers,
                                         body: ByteBuffer(string: #"{"ids":[\#(id.rawValue)],"reason":"retry"}"#)) { #expect($0.status == .ok) }
            }
            try await requeue(dead[0], basic("alice", ops.token))
            try await requeue(dead[1], bearer(ops.token))
            // A claimed name that imitates the format cannot pass for another credential.
            try await requeue(dead[2], basic("mallory via token 'ops'", acme.token))
        }
        #expect(try await fixture.store.audit(of: dead[0]).first?.actor == "alice via token 'ops'")
        #expect(try await fixture.store.audit(of: dead[1]).first?.actor == "token 'ops'")
        #expect(try await fixture.store.audit(of: dead[2]).first?.actor == "mallory via token ops via token 'tenant:acme'")
    }

    @Test("item 18d: the flash banner shows only the dashboard's own messages, never text from the link")
    func flashTextComesFromFixedCodes() async throws {
        let fixture = try await Fixture.make(history: 1)
        let app = Application(router: try fixture.dashboard().makeRouter())
        let planted = "Your session expired, sign in again at evil.example"
        try await app.test(.router) { client in
            for key in ["done", "failed"] {
                let query = "\(key)=\(planted.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                try await client.execute(uri: "/dead-letters?\(query)", method: .get, headers: bearer()) { response in
                    #expect(response.status == .ok)
                    #expect(!response.text.contains("evil.example"), "?\(key)= put its text in the banner")
                }
            }
            // The dashboard's own codes still render their messages.
            try await client.execute(uri: "/dead-letters?done=requeued&changed=3&skipped=1", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("Requeued 3 jobs; skipped 1"))
            }
            try await client.execute(uri: "/dead-letters?failed=reason", method: .get, headers: bearer()) { response in
                #expect(response.text.contains("A reason is required"))
            }
        }
    }

    @Test("item 18e: store error details are shown to full-access credentials only; a tenant credential sees a generic message")
    func storeErrorsAreGenericForTenants() async throws {
        let dashboard = Dashboard(store: FailingStore(), registry: DemoJobs.registry,
                                  configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: Planted.adminToken),
                                                                                      try DashboardCredential(token: Planted.acmeToken, tenant: Fixture.tenantAcme)]))
        try await Application(router: dashboard.makeRouter()).test(.router) { client in
            for path in ["/jobs", "/api/jobs", "/jobs/1", "/api/jobs/1", "/dead-letters", "/api/dead-letters"] {
                try await client.execute(uri: path, method: .get, headers: bearer(Planted.acmeToken)) { response in
                    #expect(response.status == .serviceUnavailable, "\(path)")
                    for detail in ["db-7.internal", "surety_app", "/var/run", "5432"] {
                        #expect(!response.text.contains(detail), "\(path) showed \(detail) to a tenant credential")
                    }
                    #expect(response.text.contains("store"), "\(path) still says what failed")
                }
                try await client.execute(uri: path, method: .get, headers: bearer()) { response in
                    #expect(response.status == .serviceUnavailable, "\(path)")
                    #expect(response.text.contains("db-7.internal.example"), "\(path): an administrator sees the detail")
                }
            }
            var json = bearer(Planted.acmeToken)
            json[.contentType] = "application/json"
            try await client.execute(uri: "/api/jobs/requeue", method: .post, headers: json,
                                     body: ByteBuffer(string: #"{"ids":[1],"reason":"retry"}"#)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(!response.text.contains("db-7.internal"))
            }
        }
    }
}
