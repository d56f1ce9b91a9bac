import Foundation
import Hummingbird
import Logging
import Prometheus
import Surety
import SuretyViews

/// The request handlers behind ``Dashboard/routes(context:)``.
struct Handlers: Sendable {
    let dashboard: Dashboard
    var base: String { dashboard.configuration.basePath }
    var data: DashboardData { dashboard.data }
    var presenter: Presenter { dashboard.presenter }
    var auth: Authenticator { dashboard.authenticator }
    var now: Date { dashboard.clock.now() }

    static let maximumBody = 1 << 20

    // MARK: Responses

    static func securityHeaders(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.init("Referrer-Policy")!] = "same-origin"
        headers[.cacheControl] = "no-store"
        headers[.init("X-Frame-Options")!] = "DENY"
    }

    func html(_ status: HTTPResponse.Status, _ text: String, cookies: [Cookie] = []) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        Self.securityHeaders(&headers)
        var response = Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return json(status, rendered: String(decoding: data, as: UTF8.self))
    }

    static func json(_ status: HTTPResponse.Status, rendered text: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        securityHeaders(&headers)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String, cookies: [Cookie] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        Self.securityHeaders(&headers)
        var response = Response(status: .seeOther, headers: headers)
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: base.isEmpty ? "/" : base,
               secure: dashboard.configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The status, code and message for an error. A store's own messages can name file paths,
    /// hosts, users and databases, so a tenant-restricted principal gets a generic message instead
    /// (the full detail is logged); everyone else, and every ``DashboardError``, gets the message.
    static func status(for error: any Error, principal: Principal?) -> (HTTPResponse.Status, String, String) {
        if let error = error as? DashboardError {
            let status: HTTPResponse.Status = switch error.code {
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .badRequest: .badRequest
            default: .internalServerError
            }
            return (status, error.code.rawValue, error.message)
        }
        if let error = error as? SuretyError {
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .invalidArgument, .invalidState: .badRequest
            case .storeUnavailable: .serviceUnavailable
            default: .internalServerError
            }
            let message = principal?.tenant == nil ? error.message
                : "the store could not complete the request (\(error.code.rawValue)); an administrator can find the detail in the server log"
            return (status, error.code.rawValue, message)
        }
        return (.internalServerError, "internal", "the request failed; see the server log")
    }

    /// Logs a failed request: an error for a server failure, a notice for any other store error
    /// (whose detail a tenant credential was not shown).
    func log(_ error: any Error, status: HTTPResponse.Status, what: String) {
        if status.code >= 500 {
            dashboard.logger.error("\(what)", metadata: ["error": "\(error)"])
        } else if error is SuretyError {
            dashboard.logger.notice("\(what)", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Pages

    struct PageResult {
        var page: Renderer.Page
        var title: String
        var context: [String: Any]
        var nav: String
    }

    /// Authenticates (redirecting to sign-in), ensures the CSRF cookie, renders the page.
    func page(_ request: Request, _ build: (Request, Principal) async throws -> PageResult) async -> Response {
        guard let principal = auth.authenticate(request, now: now) else {
            let next = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "next", value: next)]
            return redirect("\(base)/login?\(components.percentEncodedQuery ?? "")")
        }
        var cookies: [Cookie] = []
        let csrf: String
        if let existing = request.cookies[Authenticator.csrfCookie]?.value, existing.count >= 16 { csrf = existing } else {
            csrf = RandomToken.make()
            cookies.append(cookie(Authenticator.csrfCookie, csrf))
        }
        let chrome = chromeContext(request, principal: principal, csrf: csrf)
        do {
            let result = try await build(request, principal)
            var chrome = chrome
            chrome["pageTitle"] = result.title
            chrome["nav"] = navigation(on: result.nav)
            return html(.ok, dashboard.renderer.render(result.page, result.context, chrome: chrome), cookies: cookies)
        } catch {
            let (status, code, message) = Self.status(for: error, principal: principal)
            log(error, status: status, what: "dashboard page failed")
            var chrome = chrome
            chrome["pageTitle"] = "Error"
            chrome["nav"] = navigation(on: "")
            let body = dashboard.renderer.render(.error, ["status": "\(status.code) \(code)", "message": message], chrome: chrome)
            return html(status, body, cookies: cookies)
        }
    }

    func chromeContext(_ request: Request, principal: Principal, csrf: String) -> [String: Any] {
        var chrome: [String: Any] = [
            "base": base, "title": dashboard.configuration.title, "actor": principal.actor, "csrf": csrf,
            "readOnly": !principal.mayAct, "signedIn": principal.method == "session",
        ]
        if let tenant = principal.tenant { chrome["tenant"] = tenant.rawValue }
        let flash = Flash.messages(FormData(encoded: request.uri.query ?? ""))
        if let done = flash.done { chrome["flash"] = done }
        if let failed = flash.failed { chrome["flashError"] = failed }
        return chrome
    }

    func navigation(on current: String) -> [[String: Any]] {
        [("overview", "Overview", "/"), ("jobs", "Jobs", "/jobs"), ("dead", "Dead letters", "/dead-letters"),
         ("scheduled", "Scheduled", "/scheduled"), ("alerts", "Alerts", "/alerts")].map { key, label, path in
            ["href": base + path, "label": label, "on": key == current]
        }
    }

    func overviewPage(_ request: Request, _ principal: Principal) async throws -> PageResult {
        let overview = try await data.overview(for: principal, now: now)
        let queues = (overview.queues.count > 1 ? [overview.all] + overview.queues : overview.queues).map { queue -> [String: Any] in
            var context: [String: Any] = [
                "name": queue.queue, "anchor": queue.queue.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? String($0) : "-" }.joined(),
                "dead": queue.deadLetterSize, "throughput": Format.rate(queue.throughputPerMinute),
                "failureRate": Format.percent(queue.failureRate), "failedAttempts": queue.failedAttemptsLastHour,
                "pickupP50": Format.duration(queue.pickup.p50), "pickupP95": Format.duration(queue.pickup.p95),
                "runP50": Format.duration(queue.runtime.p50), "runP99": Format.duration(queue.runtime.p99),
                "hourChart": SVGChart.bars(queue.hour, title: "\(queue.queue): jobs finished per 5 minutes, last hour"),
                "dayChart": SVGChart.bars(queue.day, title: "\(queue.queue): jobs finished per hour, last day"),
                "deadHref": "\(base)/dead-letters" + (queue.queue == overview.all.queue ? "" : "?queue=\(percent(queue.queue))"),
            ]
            for state in JobState.allCases { context[state.rawValue] = queue.depth[state] ?? 0 }
            return context
        }
        return PageResult(page: .overview, title: "Overview", context: [
            "queues": queues, "generatedAt": Format.time(overview.generatedAt),
            "truncated": overview.sampleTruncated, "sampled": overview.sampled,
        ], nav: "overview")
    }

    func jobsPage(_ request: Request, _ principal: Principal) async throws -> PageResult {
        let query = try JobQuery(form: FormData(encoded: request.uri.query ?? ""))
        let jobs = try await data.jobs(query, for: principal, now: now)
        var context: [String: Any] = [
            "jobs": jobs.map(presenter.row),
            "states": JobState.allCases.map { ["value": $0.rawValue, "selected": query.states.contains($0)] },
            "queue": query.queue ?? "", "type": query.type ?? "", "tenant": query.tenant ?? "",
            "since": query.since ?? "", "until": query.until ?? "",
        ]
        if jobs.count >= query.limit, let last = jobs.last { context["nextHref"] = "\(base)/jobs?\(query.queryString(before: last.id.rawValue))" }
        if query.before != nil { context["firstHref"] = "\(base)/jobs?\(query.queryString())" }
        return PageResult(page: .jobs, title: "Jobs", context: context, nav: "jobs")
    }

    func jobPage(_ request: Request, _ principal: Principal, id: Int64?) async throws -> PageResult {
        guard let id, let detail = try await data.detail(JobID(id), for: principal) else {
            throw DashboardError(.notFound, "no such job")
        }
        return PageResult(page: .job, title: "Job \(id)", context: presenter.detail(detail, principal: principal),
                          nav: detail.job.state == .dead ? "dead" : "jobs")
    }

    func deadLettersPage(_ request: Request, _ principal: Principal) async throws -> PageResult {
        let query = try JobQuery(form: FormData(encoded: request.uri.query ?? ""))
        let (groups, truncated) = try await data.deadLetter(query, for: principal, now: now)
        let shown = 25
        let context: [String: Any] = [
            "groups": groups.enumerated().map { index, group -> [String: Any] in
                [
                    "index": index, "type": group.type, "errorType": group.errorType, "errorMessage": group.errorMessage,
                    "deadReason": group.deadReason, "canForce": group.deadReason == DeadReason.undecodablePayload.rawValue, "count": group.jobs.count, "latest": Format.time(group.latest),
                    "jobs": group.jobs.prefix(shown).map(presenter.row), "more": max(group.jobs.count - shown, 0),
                    "allIDs": group.jobs.map { String($0.id.rawValue) },
                ]
            },
            "total": groups.reduce(0) { $0 + $1.jobs.count }, "groupCount": groups.count, "truncated": truncated,
            "limit": dashboard.configuration.deadLetterLimit, "canAct": principal.mayAct,
            "queue": query.queue ?? "", "type": query.type ?? "", "tenant": query.tenant ?? "", "since": query.since ?? "",
            "audit": try await data.recentAudit(for: principal, now: now).map { job, record -> [String: Any] in
                var row = presenter.auditRow(record)
                row["id"] = String(job.id.rawValue)
                row["href"] = presenter.jobHref(job.id)
                row["type"] = job.type
                return row
            },
        ]
        return PageResult(page: .deadLetters, title: "Dead letters", context: context, nav: "dead")
    }

    func scheduledPage(_ request: Request, _ principal: Principal) async throws -> PageResult {
        let jobs = try await data.scheduled(for: principal, limit: 200)
        let schedules = try await data.schedules(for: principal)
        let now = self.now
        return PageResult(page: .scheduled, title: "Scheduled", context: [
            "jobs": jobs.map(presenter.row), "schedulesKept": schedules != nil,
            "schedules": (schedules ?? []).map { presenter.scheduleRow($0, now: now, principal: principal) },
        ], nav: "scheduled")
    }

    func alertsPage(_ request: Request, _ principal: Principal) async throws -> PageResult {
        let alerts = try await data.alerts(for: principal)
        let firing = (alerts ?? []).filter(\.isFiring), resolved = (alerts ?? []).filter { !$0.isFiring }
        return PageResult(page: .alerts, title: "Alerts", context: [
            "alertsKept": alerts != nil, "firing": firing.map(presenter.alertRow), "resolved": resolved.map(presenter.alertRow),
            "firingCount": firing.count,
        ], nav: "alerts")
    }

    func percent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    // MARK: Form actions

    /// A posted dashboard form, checked the same way for every action.
    enum FormCheck {
        case accepted(Principal, FormData)
        /// The sign-in redirect, a body over the limit, or a CSRF token or origin that does not match.
        case refused(Response)
    }

    /// Authenticates the request, reads its form body (up to `maximumBody`) and checks the origin
    /// and the CSRF token.
    func checkedForm(_ request: Request) async -> FormCheck {
        guard let principal = auth.authenticate(request, now: now) else { return .refused(redirect("\(base)/login")) }
        var request = request
        let form: FormData
        do {
            let body = try await request.collectBody(upTo: Self.maximumBody)
            form = FormData(encoded: String(buffer: body))
        } catch {
            return .refused(html(.badRequest, "request body too large"))
        }
        guard Authenticator.sameOrigin(request), Authenticator.csrfMatches(request, form: form) else {
            return .refused(html(.forbidden, dashboard.renderer.render(.error, ["status": "403 forbidden", "message": "the form's CSRF token or origin does not match; reload the page and try again"],
                                                              chrome: chromeContext(request, principal: principal, csrf: "").merging(["nav": navigation(on: ""), "pageTitle": "Forbidden"]) { $1 })))
        }
        return .accepted(principal, form)
    }

    func formAction(_ request: Request, _ action: DashboardData.Action) async -> Response {
        let principal: Principal, form: FormData
        switch await checkedForm(request) {
        case .accepted(let who, let posted): (principal, form) = (who, posted)
        case .refused(let response): return response
        }
        let ids = form.all("id").compactMap { Int64($0) }.map { JobID($0) }
        let back = form.first("return") == "job" && ids.count == 1 ? presenter.jobHref(ids[0]) : "\(base)/dead-letters"
        let force = form.first("force").map { ["1", "on", "true"].contains($0) } ?? false
        do {
            let result = try await data.perform(action, ids: ids, reason: form.value("reason") ?? "", principal: principal, now: now, force: force)
            dashboard.logger.info("dashboard action", metadata: ["action": "\(action.rawValue)", "actor": "\(principal.actor)", "changed": "\(result.changed.count)",
                                                                 "skipped": "\(result.skipped.count)", "force": "\(force)"])
            let needForce = result.skipped.filter { $0.reason == DashboardData.undecodableSkipReason }.count
            return redirect("\(back)?" + Flash.query(action == .requeue ? .requeued : .discarded, changed: result.changed.count,
                                                      skipped: result.skipped.count, needForce: needForce))
        } catch {
            dashboard.logger.notice("dashboard action refused", metadata: ["action": "\(action.rawValue)", "actor": "\(principal.actor)", "error": "\(error)"])
            return redirect("\(back)?" + Flash.query(Flash.Failure(error)))
        }
    }

    /// `POST /scheduled/pause` and `/scheduled/resume` from the page's forms (CSRF token, same
    /// origin, a reason).
    func scheduleFormAction(_ request: Request, paused: Bool) async -> Response {
        let principal: Principal, form: FormData
        switch await checkedForm(request) {
        case .accepted(let who, let posted): (principal, form) = (who, posted)
        case .refused(let response): return response
        }
        let back = "\(base)/scheduled"
        let name = form.first("name") ?? ""
        do {
            _ = try await data.setSchedulePaused(name, paused: paused, reason: form.value("reason") ?? "", principal: principal, now: now)
            dashboard.logger.info("dashboard schedule action", metadata: ["action": "\(paused ? "pause" : "resume")", "actor": "\(principal.actor)", "schedule": "\(name)"])
            return redirect("\(back)?" + Flash.query(paused ? .paused : .resumed))
        } catch {
            dashboard.logger.notice("dashboard schedule action refused", metadata: ["action": "\(paused ? "pause" : "resume")", "actor": "\(principal.actor)", "error": "\(error)"])
            return redirect("\(back)?" + Flash.query(Flash.Failure(error)))
        }
    }

    // MARK: Sign-in

    func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        let next = FormData(encoded: request.uri.query ?? "").value("next") ?? "\(base)/"
        let chrome: [String: Any] = ["base": base, "title": dashboard.configuration.title, "actor": "not signed in",
                                     "pageTitle": "Sign in", "nav": [] as [[String: Any]]]
        var context: [String: Any] = ["next": safeNext(next)]
        if let error { context["error"] = error }
        return html(status, dashboard.renderer.render(.login, context, chrome: chrome))
    }

    /// Only local paths under the dashboard are followed after sign-in (no open redirect): `next`
    /// must start with the base path and `/`, not with `//` (before or after the base), and be made
    /// of ``safeNextCharacters`` only — no whitespace or control character (browsers drop TAB and
    /// newlines from URLs, so `/<TAB>/evil.example` would become `//evil.example`), no backslash,
    /// no `#`. Anything else goes to the overview.
    func safeNext(_ next: String) -> String {
        let fallback = base + "/"
        guard next.hasPrefix(base + "/"), !next.hasPrefix("//"),
              !next.dropFirst(base.count).hasPrefix("//"),
              next.unicodeScalars.allSatisfy(Self.safeNextCharacters.contains) else { return fallback }
        return next
    }

    /// The characters a sign-in `next` may contain: ASCII letters and digits and the URL path and
    /// query characters `/ - . _ ~ ? = & % + , : ; @ ! $ ( ) *` (percent escapes stay escaped).
    static let safeNextCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-._~?=&%+,:;@!$()*")

    func login(_ request: Request) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: Self.maximumBody) else { return html(.badRequest, "request body too large") }
        let form = FormData(encoded: String(buffer: body))
        guard Authenticator.sameOrigin(request) else { return loginPage(request, error: "cross-site sign-in refused", status: .forbidden) }
        guard let token = form.first("token"), let index = auth.credentialIndex(token: token) else {
            dashboard.logger.notice("dashboard sign-in refused")
            return loginPage(request, error: "That token is not valid.", status: .unauthorized)
        }
        let session = auth.sessions.open(credentialIndex: index, claimedName: form.value("name").map(Authenticator.cleanActor) ?? "", now: now)
        let lifetime = Int(dashboard.configuration.sessionLifetime)
        return redirect(safeNext(form.first("next") ?? ""), cookies: [
            cookie(Authenticator.sessionCookie, session, maxAge: lifetime),
            cookie(Authenticator.csrfCookie, RandomToken.make(), maxAge: lifetime),
        ])
    }

    func logout(_ request: Request) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: Self.maximumBody) else { return html(.badRequest, "request body too large") }
        let form = FormData(encoded: String(buffer: body))
        guard Authenticator.sameOrigin(request), Authenticator.csrfMatches(request, form: form) else { return html(.forbidden, "forbidden") }
        if let id = request.cookies[Authenticator.sessionCookie]?.value { auth.sessions.close(id) }
        return redirect("\(base)/login", cookies: [cookie(Authenticator.sessionCookie, "", maxAge: 0)])
    }

    // MARK: JSON API

    enum APIBody {
        case object(Any)
        /// Rendered by ``JSONValue/rendered(pretty:)`` (compact): the views shared with the CLI.
        case value(JSONValue)
        case raw(String)
    }

    func api(_ request: Request, _ build: (Request, Principal) async throws -> APIBody) async -> Response {
        guard let principal = auth.authenticate(request, now: now) else {
            var response = Self.json(.unauthorized, ["error": ["code": "unauthorized", "message": "send Authorization: Bearer TOKEN (or basic credentials with the token as password)"]])
            response.headers[.wwwAuthenticate] = "Bearer realm=\"surety\""
            return response
        }
        do {
            switch try await build(request, principal) {
            case .object(let object): return Self.json(.ok, object)
            case .value(let value): return Self.json(.ok, rendered: value.rendered(pretty: false))
            case .raw(let text): return Self.json(.ok, rendered: text)
            }
        } catch {
            let (status, code, message) = Self.status(for: error, principal: principal)
            log(error, status: status, what: "dashboard API failed")
            return Self.json(status, ["error": ["code": code, "message": message]])
        }
    }

    func apiOverview(_ request: Request, _ principal: Principal) async throws -> APIBody {
        let overview = try await data.overview(for: principal, now: now)
        return .object([
            "generated_at": Format.iso(overview.generatedAt) ?? "", "aggregated": overview.aggregated,
            "sampled_jobs": overview.aggregated ? NSNull() : overview.sampled as Any,
            "sample_limit": overview.aggregated ? NSNull() : overview.sampleLimit as Any, "all": presenter.json(overview.all),
            "queues": overview.queues.map(presenter.json),
        ])
    }

    func apiJobs(_ request: Request, _ principal: Principal) async throws -> APIBody {
        let query = try JobQuery(form: FormData(encoded: request.uri.query ?? ""))
        let jobs = try await data.jobs(query, for: principal, now: now)
        let next: JSONValue = jobs.count >= query.limit ? (jobs.last.map { .int($0.id.rawValue) } ?? .null) : .null
        return .value(.object(["jobs": .array(jobs.map(presenter.json)), "next_before_id": next]))
    }

    func apiJob(_ request: Request, _ principal: Principal, id: Int64?) async throws -> APIBody {
        guard let id, let detail = try await data.detail(JobID(id), for: principal) else { throw DashboardError(.notFound, "no such job") }
        return .value(presenter.json(detail))
    }

    func apiDeadLetters(_ request: Request, _ principal: Principal) async throws -> APIBody {
        let query = try JobQuery(form: FormData(encoded: request.uri.query ?? ""))
        let (groups, truncated) = try await data.deadLetter(query, for: principal, now: now)
        return .object([
            "truncated": truncated,
            "groups": groups.map { group -> [String: Any] in
                [
                    "type": group.type, "error_type": group.errorType, "error_message": group.errorMessage,
                    "dead_reason": group.deadReason, "count": group.jobs.count, "latest": Format.iso(group.latest) ?? NSNull(),
                    "job_ids": group.jobs.map { $0.id.rawValue },
                ]
            },
        ])
    }

    func apiScheduled(_ request: Request, _ principal: Principal) async throws -> APIBody {
        let jobs = try await data.scheduled(for: principal, limit: 500)
        return .value(.object(["jobs": .array(jobs.map(presenter.json))]))
    }

    func apiAlerts(_ request: Request, _ principal: Principal) async throws -> APIBody {
        guard let alerts = try await data.alerts(for: principal) else { throw DashboardError(.notFound, "this store keeps no alert state") }
        return .object(["alerts": alerts.map(presenter.json)])
    }

    func apiSchedules(_ request: Request, _ principal: Principal) async throws -> APIBody {
        guard let schedules = try await data.schedules(for: principal) else { throw DashboardError(.notFound, "this store keeps no schedules") }
        let now = self.now
        return .object(["schedules": schedules.map { presenter.json($0, now: now) }])
    }

    /// `POST /api/schedules/pause|resume` with `{"name": "...", "reason": "..."}`.
    func apiScheduleAction(_ request: Request, paused: Bool) async -> Response {
        var request = request
        return await api(request) { _, principal in
            let object = try await jsonBody(&request, example: #"{"name": "nightly-report", "reason": "why"}"#)
            guard let name = object["name"] as? String, !name.isEmpty else { throw DashboardError(.badRequest, "name must be a schedule's name") }
            let record = try await data.setSchedulePaused(name, paused: paused, reason: (object["reason"] as? String) ?? "", principal: principal, now: now)
            return .object(["schedule": presenter.json(record, now: now)])
        }
    }

    /// The JSON object body of an API action, after the same-origin and content-type checks.
    func jsonBody(_ request: inout Request, example: String) async throws -> [String: Any] {
        guard Authenticator.sameOrigin(request) else { throw DashboardError(.forbidden, "cross-origin request refused") }
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
            throw DashboardError(.badRequest, "send a JSON body with Content-Type: application/json")
        }
        guard let body = try? await request.collectBody(upTo: Self.maximumBody),
              let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw DashboardError(.badRequest, "the body must be a JSON object: \(example)")
        }
        return object
    }

    func apiAction(_ request: Request, _ action: DashboardData.Action) async -> Response {
        var request = request
        return await api(request) { _, principal in
            guard Authenticator.sameOrigin(request) else { throw DashboardError(.forbidden, "cross-origin request refused") }
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
                throw DashboardError(.badRequest, "send a JSON body with Content-Type: application/json")
            }
            guard let body = try? await request.collectBody(upTo: Self.maximumBody),
                  let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
                throw DashboardError(.badRequest, "the body must be a JSON object: {\"ids\": [1, 2], \"reason\": \"why\"}")
            }
            guard let rawIDs = object["ids"] as? [Any] else { throw DashboardError(.badRequest, "ids must be an array of job ids") }
            let ids = try rawIDs.map { value -> JobID in
                guard let number = value as? NSNumber, let id = Int64(exactly: number.doubleValue), id > 0 else {
                    throw DashboardError(.badRequest, "ids must be positive integers")
                }
                return JobID(id)
            }
            let dryRun = (object["dry_run"] as? Bool) ?? false
            let force = (object["force"] as? Bool) ?? false
            let reason = (object["reason"] as? String) ?? ""
            let result = try await data.perform(action, ids: ids, reason: reason, principal: principal, now: now, dryRun: dryRun, force: force)
            return .object(presenter.json(result, action: action.rawValue, dryRun: dryRun))
        }
    }

    // MARK: Metrics

    func metrics(_ request: Request, registry: PrometheusCollectorRegistry) async -> Response {
        guard let principal = auth.authenticate(request, now: now) else {
            var response = Self.json(.unauthorized, ["error": ["code": "unauthorized", "message": "send Authorization: Bearer TOKEN"]])
            response.headers[.wwwAuthenticate] = "Bearer realm=\"surety\""
            return response
        }
        guard principal.tenant == nil else {
            return Self.json(.forbidden, ["error": ["code": "forbidden", "message": "metrics cover every tenant; a tenant credential may not read them"]])
        }
        return PrometheusExposition.response(registry)
    }
}
