// OpenTelemetry for the shop, on when the standard OTLP endpoint variable is set (docs/telemetry.md
// "OpenTelemetry end to end" is copied from here; OpenTelemetryTests runs it against an OTLP/HTTP
// receiver). Without it nothing is bootstrapped and the shop logs to standard output as before.
import Foundation
import Logging
import OTel
import ServiceLifecycle

enum ShopTelemetry {
    /// The variables that name where OTLP data goes; one of them turns telemetry on.
    static let endpointVariables = [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ]

    /// Bootstraps tracing, metrics and logging with swift-otel's OTLP/HTTP exporters (JSON) when
    /// `environment` names an OTLP endpoint and `OTEL_SDK_DISABLED` is not `true`; returns the
    /// services that export in the background (run them with the app's), or none.
    ///
    /// Every other standard `OTEL_*` variable applies (`OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`,
    /// `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BLRP_SCHEDULE_DELAY`, `OTEL_TRACES_SAMPLER`, ...).
    /// Log records go to the collector with the current trace and span ids, and to standard
    /// output as before, each line with `trace_id` and `span_id` metadata. Call it first thing:
    /// a `Logger` made earlier keeps the old handler, and Surety's worker reads the tracer when
    /// it starts.
    static func bootstrap(_ environment: [String: String]) throws -> [any Service] {
        guard endpointVariables.contains(where: { environment[$0] != nil }),
              environment["OTEL_SDK_DISABLED"]?.lowercased() != "true" else { return [] }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "hummingbird-shop"
        configuration.traces.otlpExporter.protocol = .httpJSON
        configuration.metrics.otlpExporter.protocol = .httpJSON
        configuration.logs.otlpExporter.protocol = .httpJSON

        let logs = try OTel.makeLoggingBackend(configuration: configuration)
        LoggingSystem.bootstrap({ label, metadataProvider in
            MultiplexLogHandler([
                logs.factory(label),
                StreamLogHandler.standardOutput(label: label, metadataProvider: metadataProvider),
            ])
        }, metadataProvider: OTel.makeLoggingMetadataProvider())
        configuration.logs.enabled = false   // bootstrapped above
        let tracesAndMetrics = try OTel.bootstrap(configuration: configuration, environment: environment)
        return [logs.service, tracesAndMetrics]
    }
}
