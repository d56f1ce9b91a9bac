import Hummingbird
import Surety
import SuretyDashboard
import Vapor

/// Surety's dashboard inside a Vapor app: every page, action and JSON API call of a
/// `Dashboard` (and its `/metrics`, when it has a registry), answered by the app's own server
/// under the dashboard's `DashboardConfiguration.basePath`.
///
/// ```swift
/// let dashboard = Dashboard(store: store, registry: registry, configuration: DashboardConfiguration(
///     credentials: [try DashboardCredential(token: token)], basePath: "/surety"))
/// try app.register(collection: VaporDashboardRoutes(dashboard))
/// ```
///
/// Register it on a route group to put the app's own authentication in front of the dashboard's
/// token: `try app.grouped(AdminOnly()).register(collection: VaporDashboardRoutes(dashboard))`.
/// Every dashboard request passes the group's middleware first; the dashboard then still asks
/// for its own credential (which also names the actor in the audit trail). To let the app's
/// authentication be the only gate, give the dashboard no credential and make it
/// `readOnly` with `allowAnonymousReadOnly` (actions then need a credential).
///
/// The dashboard is a Hummingbird router. Each request is handed to it as a Hummingbird request
/// (built once, in ``init(_:)``) and its response handed back to Vapor, streamed as it is
/// written; the app builds Hummingbird only when it adds this product. A request body is read
/// up to 1 MiB, the most the dashboard reads (a longer one gets Vapor's `413`).
///
/// A `RouteCollection` rather than a method on `app.surety`: Vapor registers it on any
/// `RoutesBuilder`, so a middleware group is the way to put it behind the app's authentication,
/// and it needs no Surety configuration on the app (`app.surety.use` is not required).
public struct VaporDashboardRoutes: Vapor.RouteCollection, Sendable {
    /// The dashboard served.
    public let dashboard: Dashboard
    let bridge: HummingbirdBridge

    /// The most request body bytes read: the dashboard's own limit for a form or JSON body.
    static let maximumBody = 1 << 20

    /// The HTTP methods the dashboard's routes answer (`HEAD` is served from `GET` by Vapor).
    static let methods: [Vapor.HTTPMethod] = [.GET, .POST]

    /// Builds the dashboard's router once, for every request these routes will serve.
    /// - Parameter dashboard: the dashboard; its `DashboardConfiguration.basePath` is where it is
    ///   mounted (links, redirects and cookie paths are built from it).
    /// - Throws: `DashboardError` `invalid_configuration` from `Dashboard.validate()` (no
    ///   credential on a dashboard that is not anonymous and read-only, two credentials with one
    ///   token); `SuretyError` `invalid_argument` when the base path is empty (at the root the
    ///   dashboard would answer every path the app does not).
    public init(_ dashboard: Dashboard) throws {
        try dashboard.validate()
        guard !dashboard.configuration.basePath.isEmpty else {
            throw SuretyError(.invalidArgument, "mount the dashboard under a path: set DashboardConfiguration.basePath (for example \"/surety\")")
        }
        self.dashboard = dashboard
        let router = Hummingbird.Router(context: BridgedRequestContext.self)
        router.addRoutes(dashboard.routes(context: BridgedRequestContext.self), atPath: RouterPath(dashboard.configuration.basePath))
        bridge = HummingbirdBridge(router: router)
    }

    /// The base path as Vapor path components (each a constant, whatever its characters).
    var path: [PathComponent] {
        dashboard.configuration.basePath.split(separator: "/").map { .constant(String($0)) }
    }

    /// Registers the dashboard's path and every path below it, for `GET` and `POST`, on `routes`.
    ///
    /// `routes` may be a middleware group (`app.grouped(AdminOnly())`) but not a path group:
    /// the routes are registered at the base path itself, which must be the path the browser sees.
    /// - Throws: `SuretyError` `invalid_argument` when `routes` adds path components of its own
    ///   (`app.grouped("admin")`): the dashboard's links would miss them. Put the whole path in
    ///   `basePath` instead (`"/admin/surety"`) and register on `app`.
    public func boot(routes: any RoutesBuilder) throws {
        let registered = bridge.register(on: routes, at: path, methods: Self.methods, maximumBody: Self.maximumBody,
                                         description: "Surety dashboard")
        if let first = registered.first, first.path.map(\.description) != path.map(\.description) {
            let seen = "/" + first.path.map(\.description).joined(separator: "/")
            throw SuretyError(.invalidArgument, "the dashboard was registered at \(seen), but its basePath is \(dashboard.configuration.basePath); register it on a group without a path, with the whole path in DashboardConfiguration.basePath")
        }
    }
}
