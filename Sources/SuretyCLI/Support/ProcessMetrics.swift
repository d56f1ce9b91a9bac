import Prometheus
import SuretyDashboard

/// The process's one Prometheus registry: swift-metrics is bootstrapped once per process, on the
/// first command that serves `/metrics` (`surety serve`, `surety worker --metrics-port`).
enum ProcessMetrics {
    static let registry: PrometheusCollectorRegistry = PrometheusExposition.bootstrap()
}
