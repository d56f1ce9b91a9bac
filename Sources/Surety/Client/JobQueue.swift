import Foundation
import Logging
import Tracing

/// The client applications use to enqueue and cancel jobs.
///
/// ```swift
/// let queue = JobQueue(store: store)
/// try await queue.enqueue(SendWelcomeEmail(userID: "u1", token: "t"), tenant: TenantID("acme"))
/// ```
public struct JobQueue: Sendable {
    public let store: any JobStore
    public let registry: JobRegistry
    public let clock: any SuretyClock
    public let logger: Logger
    let metrics: JobMetrics
    /// Where the enqueuing trace context comes from (see ``TracingOptions``).
    public let tracing: TracingOptions

    /// - Parameters:
    ///   - store: where jobs are kept.
    ///   - registry: the known job types; needed only for ``enqueue(type:payload:tenant:options:)``.
    ///     Default: empty.
    ///   - clock: the time source for `runAt` and audit times. Default: ``SystemClock``.
    ///   - logger: Default: a logger labelled `surety.queue`.
    ///   - metrics: Default: the process-wide `MetricsSystem`, no tenant dimension.
    ///   - tracing: the tracer that starts each enqueue's span inside the current trace and whose
    ///     `inject` stores that span's context with each job. Default: the process-wide
    ///     `InstrumentationSystem.tracer`.
    public init(
        store: any JobStore, registry: JobRegistry = JobRegistry(), clock: any SuretyClock = SystemClock(),
        logger: Logger = Logger(label: "surety.queue"), metrics: MetricsOptions = MetricsOptions(),
        tracing: TracingOptions = TracingOptions()
    ) {
        self.metrics = JobMetrics(options: metrics)
        self.tracing = tracing
        self.store = store
        self.registry = registry
        self.clock = clock
        self.logger = logger
    }

    /// Enqueues one job for `tenant`. With a unique key already held, returns the holder.
    /// - Throws: ``SuretyError`` with `invalidPayload` (does not encode), `invalidArgument`
    ///   (bad queue, priority, attempts or time), or the store's error.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, tenant: TenantID, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        try await enqueue([job], tenant: tenant, options: options)[0]
    }

    /// Enqueues many jobs of one type for `tenant` in one transaction: all or none.
    @discardableResult
    public func enqueue<J: Job>(_ jobs: [J], tenant: TenantID, options: EnqueueOptions = EnqueueOptions()) async throws -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        let now = clock.now()
        let trace = EnqueueTrace.start(type: J.name, tenant: tenant, tracer: tracing.resolved)
        do {
            let news = try jobs.map { job in
                try newJob(job, tenant: tenant, options: options, now: now, traceContext: trace.carrier)
            }
            trace.created(news)
            let results = try await insert(news)
            trace.end(results)
            return results
        } catch {
            trace.end(throwing: error)
            throw error
        }
    }

    /// The row `enqueue(_:tenant:options:)` would insert for `job`, without inserting it: for
    /// a store's transactional enqueue inside the application's own database transaction.
    ///
    /// ```swift
    /// try await store.database.write { db in
    ///     try db.execute(sql: "INSERT INTO orders ...")
    ///     try store.enqueue([queue.newJob(SendReceipt(orderID: id), tenant: acme)], in: db)
    /// }
    /// ```
    ///
    /// The same rules as `enqueue`, by the same code: the type's queue, priority, attempts and
    /// unique scope (``Job/options``), the job's own ``Job/uniqueKey`` and ``Job/partitionKey``,
    /// then the per-call overrides in `options`; the same validation. It is a method of the queue
    /// rather than a static function because the row's times (`enqueuedAt`, and `runAt` for a
    /// `delay`) come from this queue's ``clock``, and its trace context from this queue's
    /// ``tracing``, exactly as for `enqueue`; the queue's store is not touched.
    ///
    /// - Parameters:
    ///   - job: the payload, encoded with ``JobCoding``.
    ///   - tenant: the tenant the job belongs to.
    ///   - options: per-call overrides. Default: none (the type's options and the job's keys).
    /// - Throws: ``SuretyError`` with `invalidPayload` (does not encode) or `invalidArgument`
    ///   (bad queue, priority, attempts, delay, key, or a NUL character in a stored text).
    public func newJob<J: Job>(_ job: J, tenant: TenantID, options: EnqueueOptions = EnqueueOptions()) throws -> NewJob {
        let trace = EnqueueTrace.start(type: J.name, tenant: tenant, tracer: tracing.resolved)
        do {
            let new = try newJob(job, tenant: tenant, options: options, now: clock.now(), traceContext: trace.carrier)
            trace.created([new])
            trace.end()
            return new
        } catch {
            trace.end(throwing: error)
            throw error
        }
    }

    /// The one place a typed job becomes a ``NewJob`` (``enqueue(_:tenant:options:)`` and
    /// ``newJob(_:tenant:options:)`` both call it).
    private func newJob<J: Job>(_ job: J, tenant: TenantID, options: EnqueueOptions, now: Date, traceContext: [String: String]) throws -> NewJob {
        try makeNewJob(
            type: J.name, payload: try JobCoding.encode(job), typeOptions: J.options,
            uniqueKey: options.uniqueKey ?? job.uniqueKey, partitionKey: options.partitionKey ?? job.partitionKey,
            tenant: tenant, options: options, now: now,
            traceContext: traceContext
        )
    }

    /// Enqueues a job by type name with a JSON payload (the `surety enqueue` path). The type
    /// must be registered and the payload must decode into it.
    /// - Throws: ``SuretyError`` with `unknownJobType` or `invalidPayload`.
    @discardableResult
    public func enqueue(type: String, payload: String, tenant: TenantID, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        guard let entry = registry.entry(for: type) else {
            let known = registry.names.joined(separator: ", ")
            throw SuretyError(.unknownJobType, "unknown job type '\(type)'; registered types: \(known.isEmpty ? "none" : known)")
        }
        do {
            try entry.validate(payload)
        } catch {
            throw SuretyError(.invalidPayload, "payload does not decode as \(type): \(JobQueue.describeDecoding(error))")
        }
        let trace = EnqueueTrace.start(type: type, tenant: tenant, tracer: tracing.resolved)
        do {
            let new = try makeNewJob(
                type: type, payload: payload, typeOptions: entry.options, uniqueKey: options.uniqueKey,
                partitionKey: options.partitionKey, tenant: tenant, options: options, now: clock.now(),
                traceContext: trace.carrier
            )
            trace.created([new])
            let results = try await insert([new])
            trace.end(results)
            return results[0]
        } catch {
            trace.end(throwing: error)
            throw error
        }
    }

    /// Cancels waiting jobs (scheduled, available, retrying), with an audit row each.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when `actor` or `reason` is blank, or the
    ///   store takes no operator actions (``OperatorActionStore``).
    @discardableResult
    public func cancel(_ ids: [JobID], by actor: String, reason: String) async throws -> BulkResult {
        try await operatorActions().cancel(ids, action: OperatorAction(actor: actor, reason: reason, at: clock.now()))
    }

    /// Cancels jobs in any unfinished state: waiting jobs at once; running jobs cooperatively,
    /// when the store supports it (``CancelRequestStore``): their worker cancels the job's
    /// task at its next heartbeat and records the attempt `cancelled`. On a store without that
    /// capability, running jobs are skipped as by ``cancel(_:by:reason:)``. Audited.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when `actor` or `reason` is blank, or the
    ///   store can neither (``CancelRequestStore``, ``OperatorActionStore``).
    @discardableResult
    public func requestCancellation(_ ids: [JobID], by actor: String, reason: String) async throws -> CancellationResult {
        let action = try OperatorAction(actor: actor, reason: reason, at: clock.now())
        if let cancellable = store as? any CancelRequestStore {
            return try await cancellable.requestCancellation(ids, action: action)
        }
        let result = try await operatorActions().cancel(ids, action: action)
        return CancellationResult(cancelled: result.changed, skipped: result.skipped)
    }

    /// The store as an ``OperatorActionStore``, or the error saying it is none.
    private func operatorActions() throws -> any OperatorActionStore {
        guard let actions = store as? any OperatorActionStore else {
            throw SuretyError(.invalidArgument, "the store \(type(of: store)) takes no operator actions (OperatorActionStore); it cannot cancel jobs")
        }
        return actions
    }

    /// Hands the jobs to the store and counts what it did (inserted, or shed by a full queue).
    private func insert(_ news: [NewJob]) async throws -> [EnqueuedJob] {
        let results: [EnqueuedJob]
        do {
            results = try await store.enqueue(news)
        } catch let error as SuretyError where error.code == .queueFull {
            metrics.shed(news, policy: .reject)
            logger.warning("enqueue refused: queue full", metadata: ["error": "\(error)", "jobs": "\(news.count)"])
            throw error
        }
        metrics.enqueued(news, results: results)
        if results.contains(where: \.dropped) {
            let dropped = zip(news, results).filter { $0.1.dropped }.map(\.0)
            metrics.shed(dropped, policy: .dropNew)
            logger.warning("queue full: jobs dropped by the queue's drop_new policy", metadata: ["dropped": "\(dropped.count)", "queue": "\(dropped[0].queue)"])
        }
        return results
    }

    func makeNewJob(
        type: String, payload: String, typeOptions: JobOptions, uniqueKey: String?, partitionKey: String? = nil,
        tenant: TenantID, options: EnqueueOptions, now: Date, traceContext: [String: String] = [:]
    ) throws -> NewJob {
        let queue = options.queue ?? typeOptions.queue
        let priority = options.priority ?? typeOptions.priority
        let maxAttempts = options.maxAttempts ?? typeOptions.maxAttempts
        guard !queue.isEmpty, queue.count <= 128 else {
            throw SuretyError(.invalidArgument, "queue name must be 1 to 128 characters")
        }
        guard (0...9).contains(priority) else {
            throw SuretyError(.invalidArgument, "priority must be between 0 (most urgent) and 9, got \(priority)")
        }
        guard maxAttempts >= 1 else {
            throw SuretyError(.invalidArgument, "maxAttempts must be at least 1, got \(maxAttempts)")
        }
        if let delay = options.delay, delay < .zero {
            throw SuretyError(.invalidArgument, "delay must not be negative")
        }
        if let key = uniqueKey, key.isEmpty || key.count > 512 {
            throw SuretyError(.invalidArgument, "unique key must be 1 to 512 characters")
        }
        let partition = partitionKey ?? (typeOptions.partitionByTenant ? tenant.rawValue : nil)
        if let partition, partition.isEmpty || partition.count > 256 {
            throw SuretyError(.invalidArgument, "partition key must be 1 to 256 characters")
        }
        try Self.refuseNUL(in: queue, "queue name")
        if let uniqueKey { try Self.refuseNUL(in: uniqueKey, "unique key") }
        if let partition { try Self.refuseNUL(in: partition, "partition key") }
        for tag in options.tags { try Self.refuseNUL(in: tag, "tag") }
        for (key, value) in options.correlation {
            try Self.refuseNUL(in: key, "correlation key")
            try Self.refuseNUL(in: value, "correlation value '\(key)'")
        }
        let runAt = options.runAt ?? options.delay.map { now.adding($0) } ?? now
        return NewJob(
            type: type, queue: queue, priority: priority, tenant: tenant, payload: payload,
            runAt: runAt, enqueuedAt: now, maxAttempts: maxAttempts, uniqueKey: uniqueKey,
            uniqueScope: options.uniqueScope ?? typeOptions.uniqueScope, tags: options.tags, correlation: options.correlation,
            partitionKey: partition,
            traceContext: traceContext
        )
    }

    /// Refuses a NUL character (U+0000) in a value a store keeps as text: PostgreSQL cannot store
    /// it, so every store refuses it at enqueue with the same clear error (review item 1).
    static func refuseNUL(in text: String, _ what: String) throws {
        if text.utf8.contains(0) {
            throw SuretyError(.invalidArgument, "\(what) contains a NUL character (U+0000), which a store cannot keep as text; remove it")
        }
    }

    /// A decoding error described by where it failed, never by the values it saw.
    public static func describeDecoding(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return String(describing: type(of: error)) }
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map(\.stringValue).joined(separator: ".")
            return joined.isEmpty ? "the top level" : "'\(joined)'"
        }
        switch decoding {
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(path(context))"
        case .valueNotFound(let type, let context):
            return "missing \(type) value at \(path(context))"
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)' at \(path(context))"
        case .dataCorrupted(let context):
            return "malformed JSON at \(path(context))"
        @unknown default:
            return "does not decode"
        }
    }
}
