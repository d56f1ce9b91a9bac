import Foundation
import Logging
import Tracing

/// Runs one claimed attempt from start to recorded outcome (the worker's executor): arms its
/// deadline, builds its ``JobContext``, runs the body as one child task that a stop (timeout,
/// lost lease, cancel request, shutdown) cancels, judges the end, hands the outcome to the
/// ``CompletionBatcher``, and reports it in metrics, the span, the log and the worker's events.
/// A class: every job's task captures it, one reference instead of a copy of each field.
final class AttemptRunner: Sendable {
    let registry: JobRegistry
    let configuration: WorkerConfiguration
    let clock: any SuretyClock
    let logger: Logger
    let queueClient: JobQueue
    let dependencies: JobDependencies
    let metrics: JobMetrics
    /// Resolved once per worker: the process-wide tracer is looked up under a lock with a
    /// dynamic cast, which cost a visible share of the worker's time per job (docs/benchmarks.md).
    let tracer: any Tracer
    let completer: CompletionBatcher
    let state: SharedWorkerState

    init(
        registry: JobRegistry, configuration: WorkerConfiguration, clock: any SuretyClock, logger: Logger,
        queueClient: JobQueue, dependencies: JobDependencies, metrics: JobMetrics, tracer: any Tracer,
        completer: CompletionBatcher, state: SharedWorkerState
    ) {
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.queueClient = queueClient
        self.dependencies = dependencies
        self.metrics = metrics
        self.tracer = tracer
        self.completer = completer
        self.state = state
    }

    func run(_ job: ClaimedJob, control: AttemptControl) async {
        let startedAt = clock.now()
        let entry = registry.entry(for: job.type)
        let options = entry?.options ?? JobOptions()
        let bodyMayStart = state.attemptStarting(job.lease, deadline: startedAt.adding(options.timeout), now: startedAt)
        configuration.onEvent?(.attemptStarted(job.id, attempt: job.attempt, tenant: job.tenant))
        metrics.attemptStarted(job, at: startedAt)
        let span = JobTracing.startAttempt(job, tracer: tracer, parent: configuration.tracing.attemptParent)
        let spanRecorded = span.isRecording
        let redactor = entry?.redactor ?? Redactor(secretFields: [])
        let context = JobContext(
            claimed: job, clock: clock, queueClient: queueClient, dependencies: dependencies,
            worker: configuration.workerID, startedAt: startedAt, logger: logger, redactor: redactor
        )

        // One child task runs the body; this task waits for it to end or for a reason to stop it
        // early (the timeout watcher, a heartbeat that lost the lease or found a cancel request,
        // the shutdown), then cancels it and still waits for it to end.
        if bodyMayStart {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { control.bodyEnded(await self.runBody(job, entry: entry, context: context, span: span)) }
                if await control.waitForEndOrStop() { group.cancelAll() }
            }
        } else {
            // The claim's answer came too late (a slow network, a stalled server): the lease may
            // already be gone, so the body must not start at all. Released like a lease that could
            // not be renewed.
            control.stop(.leaseNotRenewed)
            control.bodyEnded(CancellationError())
        }
        var (bodyError, stop) = control.result
        // A body that failed because the worker's own task was cancelled was stopped by a
        // shutdown, not by a fault of the job (ServiceGroup cancels its services when one fails).
        if stop == nil, bodyError != nil, Task.isCancelled { stop = .shutdown }

        if let completedAt = await context.resolvedCompletionInTransaction() {
            // The job completed itself inside the application's transaction (fenced on the same
            // lease token): the outcome is already durable and must not be written twice.
            state.attemptEnded(job.lease)
            let finish = AttemptFinish(lease: job.lease, attempt: job.attempt, worker: configuration.workerID, startedAt: startedAt, endedAt: completedAt, outcome: .succeeded, next: .completed)
            metrics.attemptFinished(job, finish: finish, fence: .applied)
            JobTracing.endAttempt(span, outcome: .succeeded, next: .completed, error: nil)
            if let bodyError {
                context.logger.warning("job threw after completing in its transaction; it stays completed", metadata: ["error_type": "\(type(of: bodyError))"])
            }
            JobTracing.inAttemptContext(span, recorded: spanRecorded) {
                context.jobLogger.attemptEnded(outcome: .succeeded, next: .completed, error: nil, fence: .applied, duration: completedAt.timeIntervalSince(startedAt))
            }
            configuration.onEvent?(.attemptFinished(job.id, attempt: job.attempt, outcome: .succeeded, next: .completed, result: .applied))
            return
        }
        let endedAt = clock.now()
        let (outcome, result, error) = AttemptJudgement.judge(
            bodyError, stop: stop, timeout: options.timeout, classifier: configuration.classifier, redactor: redactor, payload: job.payload
        )
        // The jitter's random number only for an attempt that did not succeed (the system
        // generator costs a system call).
        let unitRandom: Double
        if case .succeeded = result { unitRandom = 0 } else { unitRandom = Double.random(in: 0..<1) }
        let next = RetryDecision.next(
            after: result, attempt: job.attempt, maxAttempts: job.maxAttempts, firstAttemptAt: job.firstAttemptAt,
            now: endedAt, options: options, unitRandom: unitRandom
        )
        state.bodyEnded(job.lease)
        JobTracing.endAttempt(span, outcome: outcome, next: next, error: error)
        let finish = AttemptFinish(
            lease: job.lease, attempt: job.attempt, worker: configuration.workerID, startedAt: startedAt,
            endedAt: endedAt, outcome: outcome, error: error, next: next
        )
        CrashPoints.reach(.attemptEnded)
        let fence = await completer.submit(finish)
        metrics.attemptFinished(job, finish: finish, fence: fence)
        // The slot was freed above; the claim loop is woken again only when this end lifts the
        // bound on outcomes in flight, or the worker is draining (see WorkerState.attemptEnded).
        state.attemptEnded(job.lease)
        JobTracing.inAttemptContext(span, recorded: spanRecorded) {
            context.jobLogger.attemptEnded(outcome: outcome, next: next, error: error, fence: fence, duration: endedAt.timeIntervalSince(startedAt))
        }
        if let fence {
            configuration.onEvent?(.attemptFinished(job.id, attempt: job.attempt, outcome: outcome, next: next, result: fence))
        }
    }

    private func runBody(_ job: ClaimedJob, entry: JobRegistry.Entry?, context: JobContext, span: any Span) async -> (any Error)? {
        guard let entry else {
            return SuretyError(.unknownJobType, "no job type '\(job.type)' is registered in this worker")
        }
        do {
            // The attempt's span context (with the tenant) is current while the job runs, so
            // jobs it enqueues carry it (see JobTracing).
            try await Tenant.$current.withValue(job.tenant) {
                try await ServiceContext.$current.withValue(span.context) {
                    try await entry.decodeAndRun(job.payload, context)
                }
            }
            return nil
        } catch {
            return error
        }
    }
}
