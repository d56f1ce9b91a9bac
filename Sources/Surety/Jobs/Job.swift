/// A unit of background work. The conforming value *is* the payload: it is encoded as JSON at
/// enqueue, stored durably, and decoded again for every attempt.
///
/// ```swift
/// struct SendWelcomeEmail: Job {
///     static let name = "app.welcome-email"
///     static let options = JobOptions(queue: "email", maxAttempts: 5)
///     static let secretFields: Set<String> = ["token"]
///     var userID: String
///     var token: String
///     func run(_ context: JobContext) async throws { /* ... */ }
/// }
/// ```
///
/// `run` may be called more than once for the same job (at-least-once delivery): a worker can
/// crash after the work happened and before it was recorded. Guard side effects with an
/// idempotency key (``JobContext/idempotencyKey(_:)``) so a repeat is harmless.
public protocol Job: Codable, Sendable {
    /// The stable type name stored with each job, for example `"billing.charge"`. Renaming it
    /// orphans jobs already enqueued under the old name. No default.
    static var name: String { get }
    /// Per-type defaults: queue, priority, attempts, backoff, budget, timeout, unique scope.
    /// Default: `JobOptions()` (see each field's documented default).
    static var options: JobOptions { get }
    /// Payload fields (JSON object keys, at any depth) whose values are secret: they are
    /// replaced by `[REDACTED]` in logs, dead-letter views and `--json` output, and their values
    /// are scrubbed from recorded error messages. Default: none.
    static var secretFields: Set<String> { get }
    /// A key that makes enqueue idempotent: while a job of this tenant holds the key (see
    /// ``UniqueScope``), enqueueing another returns the existing job. Default: `nil` (no key).
    /// ``EnqueueOptions/uniqueKey`` overrides it per call.
    var uniqueKey: String? { get }
    /// The job's partition key for flow control (per-key concurrency, rate limits, ordering and
    /// fairness; see ``QueueLimits``), for example the account whose ledger it updates.
    /// Default: `nil` (no key; see ``JobOptions/partitionByTenant``).
    /// ``EnqueueOptions/partitionKey`` overrides it per call.
    var partitionKey: String? { get }
    /// Does the work. Throw ``PermanentFailure`` to stop retrying, ``Snooze`` to try again later
    /// without using an attempt; any other error is classified (transient by default).
    func run(_ context: JobContext) async throws
}

extension Job {
    public static var options: JobOptions { JobOptions() }
    public static var secretFields: Set<String> { [] }
    public var uniqueKey: String? { nil }
    public var partitionKey: String? { nil }
}
