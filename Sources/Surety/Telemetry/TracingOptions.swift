import Tracing

/// Where Surety's spans go. Default: the process-wide tracer (`InstrumentationSystem.tracer`,
/// a no-op until you bootstrap one, for example swift-otel).
///
/// Pass the same options to the ``JobQueue`` that enqueues and the ``Worker`` that runs jobs:
/// the queue starts an enqueue span inside the current trace and stores its context with each
/// job (the tracer's `inject`), and every attempt's span descends from it and links to it (the
/// tracer's `extract`). See docs/telemetry.md.
public struct TracingOptions: Sendable {
    /// The tracer to use. Default: `nil`, the process-wide `InstrumentationSystem.tracer` (a
    /// ``Worker`` reads it once, when it starts running: bootstrap the tracer before that).
    public var tracer: (any Tracer)?
    /// Where a worker puts each attempt's span: under the job's enqueue span, in the trace that
    /// enqueued it, or at the root of a trace of its own. Read by workers only. Default:
    /// ``AttemptSpanParent/enqueue``.
    public var attemptParent: AttemptSpanParent

    /// - Parameters:
    ///   - tracer: Default: `nil`, the process-wide tracer.
    ///   - attemptParent: Default: ``AttemptSpanParent/enqueue``.
    public init(tracer: (any Tracer)? = nil, attemptParent: AttemptSpanParent = .enqueue) {
        self.tracer = tracer
        self.attemptParent = attemptParent
    }

    /// The configured tracer, or the process-wide one.
    var resolved: any Tracer { tracer ?? InstrumentationSystem.tracer }
}
