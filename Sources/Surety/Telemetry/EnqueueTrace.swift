import Tracing

/// The trace of one enqueue call: a span `surety.enqueue <type>` (kind `producer`), started as a
/// child of the current context, and the carrier of the span's context stored with the jobs, so
/// every attempt descends from it (see ``JobTracing``).
///
/// Only inside a trace the tracer propagates: with no current context, or one the tracer injects
/// nothing for (the default no-op tracer), there is no span and the carrier is empty, as
/// without tracing. For ``JobQueue/newJob(_:tenant:options:)`` the span marks the job's
/// creation; the insert is the application's own transaction.
struct EnqueueTrace {
    let span: (any Span)?
    /// The propagation fields stored with the jobs (`NewJob.traceContext`).
    let carrier: [String: String]

    static func start(type: String, tenant: TenantID, tracer: any Tracer) -> EnqueueTrace {
        guard let current = ServiceContext.current, !JobTracing.carrier(for: current, tracer: tracer).isEmpty else {
            return EnqueueTrace(span: nil, carrier: [:])
        }
        let span = tracer.startSpan("surety.enqueue \(type)", context: current, ofKind: .producer)
        if span.isRecording {
            span.attributes["surety.job.type"] = type
            span.attributes["surety.tenant"] = tenant.rawValue
        }
        return EnqueueTrace(span: span, carrier: JobTracing.carrier(for: span.context, tracer: tracer))
    }

    /// Records the built jobs' queue (and their number, when more than one).
    func created(_ jobs: [NewJob]) {
        guard let span, span.isRecording, let first = jobs.first else { return }
        span.attributes["surety.job.queue"] = first.queue
        if jobs.count > 1 { span.attributes["surety.job.count"] = jobs.count }
    }

    /// Ends the span, with the job's id when one job was enqueued (`nil`: built, not inserted).
    func end(_ results: [EnqueuedJob]? = nil) {
        guard let span else { return }
        if span.isRecording, let results, results.count == 1 {
            span.attributes["surety.job.id"] = results[0].id.rawValue
            span.attributes["surety.job.inserted"] = results[0].inserted
        }
        span.end()
    }

    /// Ends the span as failed. Only a ``SuretyError``'s description (safe to log by design) is
    /// attached; of any other error only its type, since its text may hold payload values.
    func end(throwing error: any Error) {
        guard let span else { return }
        let message = (error as? SuretyError)?.description ?? String(describing: type(of: error))
        span.setStatus(SpanStatus(code: .error, message: message))
        span.end()
    }
}
