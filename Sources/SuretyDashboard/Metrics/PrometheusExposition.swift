import Hummingbird
import Metrics
import Prometheus

/// Prometheus text exposition of a swift-prometheus registry, for `/metrics`.
///
/// `surety serve` bootstraps swift-metrics with a `PrometheusMetricsFactory` over one registry
/// and serves it through the dashboard. In your own app, serve the same registry with
/// ``routes(registry:context:)`` (no authentication: put it behind your own) or pass it to
/// ``Dashboard/init(store:registry:configuration:metrics:clock:logger:)``.
public enum PrometheusExposition {
    /// The content type of the text format, version 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Creates a registry and bootstraps swift-metrics with a `PrometheusMetricsFactory` over it.
    /// Call once per process (swift-metrics allows one bootstrap).
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// The registry's current values as a `200` response in the text format.
    public static func response(_ registry: PrometheusCollectorRegistry) -> Response {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    /// A route collection with `GET /metrics` serving `registry`, unauthenticated.
    public static func routes<Context: RequestContext>(registry: PrometheusCollectorRegistry, context: Context.Type = Context.self) -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("/metrics") { _, _ in response(registry) }
        return routes
    }
}
