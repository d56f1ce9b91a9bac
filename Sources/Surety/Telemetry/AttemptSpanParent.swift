/// Where an attempt's span sits in the traces (``TracingOptions/attemptParent``).
///
/// Every attempt's span links to the job's enqueue span (`surety.link = enqueued_by`) either way;
/// this chooses its parent. See docs/telemetry.md.
public enum AttemptSpanParent: Sendable, Hashable {
    /// The child of the job's enqueue span, in the trace that enqueued it: behind a request's
    /// server span, one trace holds the request, the enqueue and every attempt of the job. The
    /// default.
    case enqueue
    /// The root of a trace of its own (a child of whatever span is current in the worker), only
    /// linked to the enqueue span: for jobs that run long after their request, or in numbers
    /// that would make one trace unwieldy (a request that enqueues thousands of jobs).
    case worker
}
