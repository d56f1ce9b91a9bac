import Tracing

/// Where Surety's spans go. Default: the process-wide tracer (`InstrumentationSystem.tracer`,
/// a no-op until you bootstrap one, for example swift-otel).
///
/// Pass the same options to the ``JobQueue`` that enqueues and the ``Worker`` that runs jobs:
/// the queue stores the enqueuing trace context with each job (the tracer's `inject`), and every
/// attempt's span links to it (the tracer's `extract`). See docs/telemetry.md.
public struct TracingOptions: Sendable {
    /// The tracer to use. Default: `nil`, the process-wide `InstrumentationSystem.tracer` (a
    /// ``Worker`` reads it once, when it starts running: bootstrap the tracer before that).
    public var tracer: (any Tracer)?

    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    /// The configured tracer, or the process-wide one.
    var resolved: any Tracer { tracer ?? InstrumentationSystem.tracer }
}
