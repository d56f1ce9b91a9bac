import Foundation
import Tracing

/// The tracing around jobs: the carrier stored at enqueue, and each attempt's span.
///
/// * At enqueue, ``JobQueue`` starts a span `surety.enqueue <type>` (kind `producer`) as a child
///   of the current `ServiceContext` (the request or the running attempt that enqueues) and
///   injects its context into a `[String: String]` carrier stored with the job (`trace_context`);
///   see ``EnqueueTrace``. With no active trace, or a tracer that injects nothing, there is no
///   span and nothing is stored.
/// * Each attempt runs in a span `surety.job <type>` (kind `consumer`): by default a child of the
///   extracted enqueue context (``AttemptSpanParent/enqueue``), else started in the worker's own
///   context (``AttemptSpanParent/worker``); either way *linked* to the enqueue context, so every
///   attempt of a job, and the jobs it enqueued, can be followed from the request that started them.
/// * Inside the attempt, `ServiceContext.current` is the span's context: jobs enqueued from a
///   running job carry the attempt's context, and the attempt's log lines (the job's own and the
///   worker's line at its end) carry its trace and span ids with a backend that reads them.
enum JobTracing {
    /// Injects `context` into a fresh carrier; empty when there is nothing to propagate.
    static func carrier(for context: ServiceContext?, tracer: any Tracer) -> [String: String] {
        guard let context else { return [:] }
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier
    }

    /// Starts an attempt's span with its attributes and the link to the enqueuing context; its
    /// parent is that context with ``AttemptSpanParent/enqueue``, the worker's otherwise.
    static func startAttempt(_ job: ClaimedJob, tracer: any Tracer, parent: AttemptSpanParent = .enqueue) -> any Span {
        var context = ServiceContext.current ?? .topLevel
        context.suretyTenant = job.tenant
        if parent == .enqueue, !job.traceContext.isEmpty {
            tracer.extract(job.traceContext, into: &context, using: DictionaryExtractor())
        }
        let span = tracer.startSpan("surety.job \(job.type)", context: context, ofKind: .consumer)
        // A span that records nothing (no tracer bootstrapped) skips the attributes and the link.
        guard span.isRecording else { return span }
        span.attributes["surety.job.id"] = job.id.rawValue
        span.attributes["surety.job.type"] = job.type
        span.attributes["surety.job.queue"] = job.queue
        span.attributes["surety.job.attempt"] = job.attempt
        span.attributes["surety.tenant"] = job.tenant.rawValue
        if !job.traceContext.isEmpty {
            var enqueued = ServiceContext.topLevel
            tracer.extract(job.traceContext, into: &enqueued, using: DictionaryExtractor())
            span.addLink(SpanLink(context: enqueued, attributes: ["surety.link": "enqueued_by"]))
        }
        return span
    }

    /// Runs `body` (the attempt's log line, written after its span ended) with the span's context
    /// current, so a logging backend or metadata provider that reads `ServiceContext.current`
    /// (swift-otel's) tags the line with the attempt's trace and span ids. `recorded` is whether
    /// the span recorded when it started (an ended span records nothing any more): a span that
    /// recorded nothing (no tracer bootstrapped, or not sampled) runs `body` as it is.
    static func inAttemptContext(_ span: any Span, recorded: Bool, _ body: () -> Void) {
        guard recorded else { return body() }
        ServiceContext.$current.withValue(span.context) { body() }
    }

    /// Records the attempt's outcome and ends its span. Only the recorded error (already scrubbed
    /// of the job's secret values) is attached, never the raw error.
    static func endAttempt(_ span: any Span, outcome: AttemptOutcome, next: NextState, error: AttemptError?) {
        guard span.isRecording else {
            span.end()
            return
        }
        span.attributes["surety.job.outcome"] = outcome.rawValue
        span.attributes["surety.job.next"] = next.spanDescription
        if let error {
            span.attributes["surety.error.class"] = error.errorClass.rawValue
            span.attributes["surety.error.type"] = error.type
            span.setStatus(SpanStatus(code: .error, message: "\(error.type): \(error.message)"))
        } else if outcome == .succeeded {
            span.setStatus(SpanStatus(code: .ok))
        }
        span.end()
    }
}

extension NextState {
    /// `completed`, `retry`, `reschedule`, `dead` or `cancelled`.
    var spanDescription: String {
        switch self {
        case .completed: "completed"
        case .retry: "retry"
        case .reschedule: "reschedule"
        case .dead: "dead"
        case .cancelled: "cancelled"
        }
    }
}

/// Writes a tracer's propagation fields into the stored carrier.
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads a tracer's propagation fields from the stored carrier.
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
