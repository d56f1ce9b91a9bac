import Foundation
import Hummingbird
import Logging
import Prometheus
import Surety

/// Surety's operator dashboard: server-rendered pages, a JSON API under `/api` (documented at
/// `/api/openapi.json`) and, when given a registry, Prometheus `/metrics`.
///
/// Mount it in your own Hummingbird app:
/// ```swift
/// let dashboard = Dashboard(store: store, registry: jobs,
///                           configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: token)],
///                                                                 basePath: "/surety"))
/// router.addRoutes(dashboard.routes(context: BasicRequestContext.self), atPath: "/surety")
/// ```
/// or serve it alone with ``makeRouter()`` (what `surety serve` does).
///
/// Every page, API call and action requires a credential (see ``DashboardCredential``) unless
/// ``DashboardConfiguration/allowAnonymousReadOnly`` is set on a read-only dashboard. Actions are
/// POSTs: HTML forms carry a CSRF token that must match the `surety_csrf` cookie, JSON calls
/// must be `application/json` (which a cross-site form cannot send), and every POST whose
/// `Origin` names another host is refused.
public struct Dashboard: Sendable {
    public let configuration: DashboardConfiguration
    let data: DashboardData
    let renderer: Renderer
    let authenticator: Authenticator
    let presenter: Presenter
    let metrics: PrometheusCollectorRegistry?
    let clock: any SuretyClock
    let logger: Logger

    /// - Parameters:
    ///   - store: The job store to show and act on.
    ///   - registry: The job types, for redacting payloads (unknown types' payloads are masked
    ///     whole). Default: empty.
    ///   - configuration: Credentials and options. Default: ``DashboardConfiguration/init(credentials:readOnly:allowAnonymousReadOnly:basePath:sampleLimit:deadLetterLimit:sessionLifetime:secureCookies:title:)`` defaults.
    ///   - metrics: The Prometheus registry served at `/metrics`. Default: `nil` (no `/metrics`).
    ///   - clock: Default: the system clock.
    ///   - logger: Default: a logger labelled `surety.dashboard`.
    public init(store: any JobInspectionStore & OperatorActionStore, registry: JobRegistry = JobRegistry(), configuration: DashboardConfiguration = DashboardConfiguration(),
                metrics: PrometheusCollectorRegistry? = nil, clock: any SuretyClock = SystemClock(),
                logger: Logger = Logger(label: "surety.dashboard")) {
        self.configuration = configuration
        self.data = DashboardData(store: store, registry: registry, configuration: configuration)
        self.renderer = Renderer()
        self.authenticator = Authenticator(configuration: configuration, sessions: SessionStore(lifetime: configuration.sessionLifetime))
        self.presenter = Presenter(data: data, base: configuration.basePath)
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    /// Checks that the configuration can be served safely.
    /// - Throws: ``DashboardError`` `invalid_configuration` when there is no credential and
    ///   anonymous read-only access is not enabled.
    public func validate() throws {
        if configuration.credentials.isEmpty && !(configuration.readOnly && configuration.allowAnonymousReadOnly) {
            throw DashboardError(.invalidConfiguration, "the dashboard needs a token (--token or SURETY_DASHBOARD_TOKEN), unless it is read-only on a loopback address")
        }
        let tokens = configuration.credentials.map(\.token)
        if Set(tokens).count != tokens.count {
            throw DashboardError(.invalidConfiguration, "two dashboard credentials use the same token")
        }
    }

    /// A router serving the dashboard at ``DashboardConfiguration/basePath``.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.addRoutes(routes(context: BasicRequestContext.self), atPath: RouterPath(configuration.basePath))
        return router
    }

    /// The dashboard's routes, for mounting at ``DashboardConfiguration/basePath`` in your own
    /// router (`router.addRoutes(dashboard.routes(context: MyContext.self), atPath: "/surety")`).
    public func routes<Context: RequestContext>(context: Context.Type = Context.self) -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        let handlers = Handlers(dashboard: self)
        // Pages.
        routes.get("/") { request, _ in await handlers.page(request) { try await handlers.overviewPage($0, $1) } }
        routes.get("/jobs") { request, _ in await handlers.page(request) { try await handlers.jobsPage($0, $1) } }
        routes.get("/jobs/:id") { request, context in
            let id = context.parameters.get("id", as: Int64.self)
            return await handlers.page(request) { try await handlers.jobPage($0, $1, id: id) }
        }
        routes.get("/dead-letters") { request, _ in await handlers.page(request) { try await handlers.deadLettersPage($0, $1) } }
        routes.get("/scheduled") { request, _ in await handlers.page(request) { try await handlers.scheduledPage($0, $1) } }
        routes.get("/alerts") { request, _ in await handlers.page(request) { try await handlers.alertsPage($0, $1) } }
        routes.post("/dead-letters/requeue") { request, _ in await handlers.formAction(request, .requeue) }
        routes.post("/dead-letters/discard") { request, _ in await handlers.formAction(request, .discard) }
        routes.post("/scheduled/pause") { request, _ in await handlers.scheduleFormAction(request, paused: true) }
        routes.post("/scheduled/resume") { request, _ in await handlers.scheduleFormAction(request, paused: false) }
        // Sign-in.
        routes.get("/login") { request, _ in handlers.loginPage(request, error: nil) }
        routes.post("/login") { request, _ in await handlers.login(request) }
        routes.post("/logout") { request, _ in await handlers.logout(request) }
        // JSON API.
        routes.get("/api/openapi.json") { request, _ in await handlers.api(request) { _, _ in .raw(OpenAPIDocument.json(base: handlers.base)) } }
        routes.get("/api/overview") { request, _ in await handlers.api(request) { try await handlers.apiOverview($0, $1) } }
        routes.get("/api/jobs") { request, _ in await handlers.api(request) { try await handlers.apiJobs($0, $1) } }
        routes.get("/api/jobs/:id") { request, context in
            let id = context.parameters.get("id", as: Int64.self)
            return await handlers.api(request) { try await handlers.apiJob($0, $1, id: id) }
        }
        routes.get("/api/dead-letters") { request, _ in await handlers.api(request) { try await handlers.apiDeadLetters($0, $1) } }
        routes.get("/api/scheduled") { request, _ in await handlers.api(request) { try await handlers.apiScheduled($0, $1) } }
        routes.get("/api/schedules") { request, _ in await handlers.api(request) { try await handlers.apiSchedules($0, $1) } }
        routes.get("/api/alerts") { request, _ in await handlers.api(request) { try await handlers.apiAlerts($0, $1) } }
        routes.post("/api/schedules/pause") { request, _ in await handlers.apiScheduleAction(request, paused: true) }
        routes.post("/api/schedules/resume") { request, _ in await handlers.apiScheduleAction(request, paused: false) }
        routes.post("/api/jobs/requeue") { request, _ in await handlers.apiAction(request, .requeue) }
        routes.post("/api/jobs/discard") { request, _ in await handlers.apiAction(request, .discard) }
        // Prometheus.
        if let metrics {
            routes.get("/metrics") { request, _ in await handlers.metrics(request, registry: metrics) }
        }
        return routes
    }
}
