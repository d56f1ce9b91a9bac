import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Tracing

/// Runs jobs: claims them in batches under leases, runs up to `concurrency` at once, keeps their
/// leases alive with heartbeats, enforces each type's timeout, records every attempt, and rescues
/// jobs whose worker vanished. A ServiceLifecycle `Service`:
///
/// ```swift
/// let worker = Worker(store: store, registry: registry)
/// let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// On graceful shutdown it stops claiming, lets running jobs finish within
/// ``WorkerConfiguration/shutdownGracePeriod``, then cancels the rest and releases them to the
/// queue without using an attempt. A job is recorded `completed` only after `run` returned.
public final class Worker: Service, Sendable {
    public let store: any JobStore
    public let registry: JobRegistry
    public let configuration: WorkerConfiguration
    public let clock: any SuretyClock
    let logger: Logger
    let queueClient: JobQueue
    let dependencies: JobDependencies
    let metrics: JobMetrics

    private struct Running {
        var lease: Lease
        /// How the attempt's body is stopped early (timeout, lost lease, shutdown, cancel request).
        var control: AttemptControl
        /// When the attempt times out; set when it starts.
        var deadline: Date?
        /// Until when the lease is surely held, on this worker's clock: the time the claim or the
        /// last successful heartbeat was *sent*, plus the lease duration (the store computed the
        /// lease's end later than that, so it ends no earlier). Past this minus the margin the
        /// attempt is stopped (``AttemptControl/Stop/leaseNotRenewed``).
        var leaseSurelyHeldUntil: Date
        var finishing = false

        /// When the attempt is stopped if its lease is not renewed by then: `margin` before the
        /// lease can end.
        func leaseStop(margin: Duration) -> Date { leaseSurelyHeldUntil.adding(.zero - margin) }
    }

    /// The attempts this worker holds, with how many of them are finishing (their outcome being
    /// written), kept with every change so that free slots are counted without a scan: the claim
    /// loop counts them at every wake-up, that is about once per job in a busy worker.
    private struct RunningAttempts {
        var jobs: [JobID: Running] = [:]
        var finishing = 0
    }

    private let running = Mutex(RunningAttempts())
    private let draining = Mutex(false)
    private let wake = WakeSignal()
    /// Wakes the timeout loop when an attempt starts with a deadline earlier than the one it sleeps to.
    private let timeoutWake = WakeSignal()
    /// The deadline the timeout loop sleeps until (`nil`: it waits for a signal).
    private let armedDeadline = Mutex<Date?>(nil)

    /// - Parameters:
    ///   - store: where jobs are kept.
    ///   - registry: the job types this worker can run. A claimed job of an unknown type fails
    ///     transiently (retrying with backoff, so a newer worker can take it) and is never dropped.
    ///   - configuration: Default: ``WorkerConfiguration/init(queues:concurrency:claimBatchSize:leaseDuration:heartbeatInterval:pollInterval:rescueInterval:shutdownGracePeriod:workerID:classifier:onEvent:)`` defaults.
    ///   - dependencies: services jobs fetch with ``JobContext/dependency(_:)``. Default: none.
    ///   - clock: Default: ``SystemClock``.
    ///   - logger: Default: a logger labelled `surety.worker`.
    public init(
        store: any JobStore, registry: JobRegistry, configuration: WorkerConfiguration = WorkerConfiguration(),
        dependencies: JobDependencies = JobDependencies(),
        clock: any SuretyClock = SystemClock(), logger: Logger = Logger(label: "surety.worker")
    ) {
        self.store = store
        self.dependencies = dependencies
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerID)"
        self.logger = logger
        self.queueClient = JobQueue(store: store, registry: registry, clock: clock, logger: logger, metrics: configuration.metrics, tracing: configuration.tracing)
        self.metrics = JobMetrics(options: configuration.metrics)
    }

    /// Runs until graceful shutdown (or cancellation).
    /// - Throws: ``SuretyError/Code/invalidArgument`` for an unusable configuration.
    public func run() async throws {
        guard configuration.concurrency >= 1 else { throw SuretyError(.invalidArgument, "concurrency must be at least 1") }
        guard !configuration.queues.isEmpty else { throw SuretyError(.invalidArgument, "a worker needs at least one queue") }
        let completer = CompletionBatcher(store: store, clock: clock, logger: logger) { [configuration] message in
            configuration.onEvent?(.storeError(message))
        }
        // Resolved once: the process-wide tracer is looked up under a lock with a dynamic cast,
        // which cost a visible share of the worker's time per job (docs/benchmarks.md).
        let tracer = configuration.tracing.resolved
        let control = WorkerControlExecutor.forWorker(configuration)
        logger.info("worker started", metadata: [
            "queues": "\(configuration.queues.joined(separator: ","))", "concurrency": "\(configuration.concurrency)",
        ])
        // The outcome writer is a task of its own, not a child: cancelling the worker's task
        // (a ServiceGroup does when a sibling service fails) must not reach it, because the
        // outcomes of the jobs the cancellation stops still have to be written, and a store such
        // as PostgreSQL refuses every call from a cancelled task. The worker awaits it before
        // returning, so it never outlives `run()`.
        let writer = Task(executorPreference: control) { await completer.run() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withTaskGroup(of: Void.self) { aux in
                    aux.addTask { await self.heartbeatLoop() }
                    aux.addTask { await self.timeoutLoop() }
                    if let interval = self.configuration.rescueInterval {
                        aux.addTask { await self.rescueLoop(every: interval) }
                    }
                    if let notifier = self.store as? any JobAvailabilityNotifying {
                        aux.addTask {
                            for await _ in notifier.availabilitySignals() { self.wake.signal() }
                        }
                    }
                    await withTaskExecutorPreference(control) { await self.claimLoop(completer, tracer: tracer) }
                    aux.cancelAll()
                }
            } onCancel: {
                // A cancelled worker shuts down at once: every running attempt is released
                // without using an attempt, as at the end of a grace period.
                self.stopForCancellation()
            }
            completer.close()
            await writer.value
        } onGracefulShutdown: {
            self.beginDrain()
        }
        logger.info("worker stopped")
    }

    /// Stops claiming and starts the graceful drain (what a ServiceGroup's graceful shutdown does).
    public func beginDrain() {
        let first = draining.withLock { draining -> Bool in
            defer { draining = true }
            return !draining
        }
        guard first else { return }
        configuration.onEvent?(.draining)
        logger.info("worker draining", metadata: ["running": "\(runningCount)"])
        wake.signal()
    }

    /// The worker's task was cancelled: stop claiming and stop every running attempt as a
    /// shutdown (recorded `interrupted`, no attempt used), not as a failure of the job.
    private func stopForCancellation() {
        draining.withLock { $0 = true }
        stopAllRunning(.shutdown)
        wake.signal()
    }

    /// Stops every running attempt for `reason`; returns how many there were.
    @discardableResult
    private func stopAllRunning(_ reason: AttemptControl.Stop) -> Int {
        running.withLock { running -> Int in
            for job in running.jobs.values { job.control.stop(reason) }
            return running.jobs.count
        }
    }

    private var isDraining: Bool { draining.withLock { $0 } }
    private var runningCount: Int { running.withLock { $0.jobs.count } }

    /// How many jobs the next claim may take. An attempt whose outcome is being written no
    /// longer takes a slot: the next claim overlaps that write (and shares its transaction on
    /// SQLite) instead of waiting for it. Bodies running at once never exceed `concurrency`;
    /// attempts still being recorded are at most another `concurrency`, so a store that writes
    /// outcomes slowly holds the claims back instead of letting them pile up. The store counts
    /// such a job as running until its outcome commits, so queue limits stay exact.
    private var freeSlots: Int {
        let concurrency = configuration.concurrency
        return running.withLock { running in
            min(concurrency - (running.jobs.count - running.finishing), 2 * concurrency - running.jobs.count)
        }
    }

    /// Forgets a finished attempt (unless the same job was claimed again meanwhile, after a
    /// lost lease: that newer attempt keeps its entry). Returns whether that can make a claim
    /// larger: only when the outcomes being written were the bound (more than `concurrency` of
    /// them, see ``freeSlots``), or the attempt had not freed its slot by finishing.
    @discardableResult
    private func release(_ job: ClaimedJob) -> Bool {
        running.withLock { running in
            guard let entry = running.jobs[job.id], entry.lease == job.lease else { return false }
            let freesMore = !entry.finishing || running.finishing > configuration.concurrency
            if entry.finishing { running.finishing -= 1 }
            running.jobs[job.id] = nil
            return freesMore
        }
    }

    /// Marks an attempt whose body ended: its slot is free for the next claim.
    private func markFinishing(_ job: ClaimedJob) {
        running.withLock { running in
            guard var entry = running.jobs[job.id], entry.lease == job.lease, !entry.finishing else { return }
            entry.finishing = true
            running.jobs[job.id] = entry
            running.finishing += 1
        }
    }

    // MARK: Claiming

    private func claimLoop(_ completer: CompletionBatcher, tracer: any Tracer) async {
        // A discarding group: a plain task group keeps every finished child until it is awaited,
        // so a long-running worker's memory would grow with every job it ran.
        await withDiscardingTaskGroup { jobs in
            var failures = 0
            while !isDraining && !Task.isCancelled {
                // Let the job tasks that are ready to run end first: jobs finished together free
                // their slots together, and one yield turns a trickle of small claims into one
                // claim of many.
                await Task.yield()
                let free = freeSlots
                if free <= 0 {
                    await wake.wait()
                    continue
                }
                let limit = min(free, configuration.effectiveBatchSize)
                let now = clock.now()
                let claimed: [ClaimedJob]
                do {
                    claimed = try await store.claim(ClaimRequest(
                        queues: configuration.queues, limit: limit, worker: configuration.workerID,
                        now: now, leaseUntil: now.adding(configuration.leaseDuration)
                    ))
                    if failures > 0 { logger.info("store reachable again; claiming resumed") }
                    failures = 0
                    if !claimed.isEmpty { CrashPoints.reach(.claimCommitted) }
                } catch {
                    failures += 1
                    let delay = StoreBackoff.delay(failures: failures)
                    logger.warning("claim failed; backing off", metadata: ["error": "\(error)", "retry_in": "\(delay)", "failures": "\(failures)"])
                    configuration.onEvent?(.storeError("claim: \(error)"))
                    try? await clock.sleep(for: delay)
                    continue
                }
                for job in claimed {
                    let control = AttemptControl()
                    running.withLock { running in
                        // The same job again (its lease was lost and it was claimed anew) while the
                        // older attempt is still being recorded: the new attempt takes the entry.
                        if running.jobs[job.id]?.finishing == true { running.finishing -= 1 }
                        running.jobs[job.id] = Running(lease: job.lease, control: control, leaseSurelyHeldUntil: now.adding(configuration.leaseDuration))
                    }
                    jobs.addTask(executorPreference: globalConcurrentExecutor) { await self.execute(job, control: control, completer: completer, tracer: tracer) }
                }
                if claimed.count < limit {
                    await wake.wait(until: now.adding(configuration.pollInterval), clock: clock)
                }
            }
            // From here on, outcomes the store keeps refusing are given up after a few tries
            // instead of holding the shutdown for ever (their leases expire; nothing is lost).
            completer.beginShutdown()
            await drain()
        }
    }

    private func drain() async {
        guard runningCount > 0 else { return }
        let deadline = clock.now().adding(configuration.shutdownGracePeriod)
        while runningCount > 0 {
            if Task.isCancelled {
                // Every running attempt was stopped when the cancellation arrived; the task group
                // waits for them to end (a wait here would return at once, in a busy loop).
                stopAllRunning(.shutdown)
                return
            }
            if clock.now() >= deadline {
                let cancelled = stopAllRunning(.shutdown)
                logger.warning("grace period over; cancelling running jobs and releasing them", metadata: ["jobs": "\(cancelled)"])
                return
            }
            await wake.wait(until: deadline, clock: clock)
        }
    }

    // MARK: Running one attempt

    private func execute(_ job: ClaimedJob, control: AttemptControl, completer: CompletionBatcher, tracer: any Tracer) async {
        let startedAt = clock.now()
        let entry = registry.entry(for: job.type)
        let options = entry?.options ?? JobOptions()
        let leaseEnding = armTimeout(job.id, deadline: startedAt.adding(options.timeout), now: startedAt)
        let jobLogger = JobLogger(base: logger, job: job)
        configuration.onEvent?(.attemptStarted(job.id, attempt: job.attempt, tenant: job.tenant))
        metrics.attemptStarted(job, at: startedAt)
        let span = JobTracing.startAttempt(job, tracer: tracer)

        let completionState = AttemptCompletionState()
        let context = JobContext(
            id: job.id, type: job.type, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts,
            tenant: job.tenant, tags: job.tags, correlation: job.correlation, enqueuedAt: job.enqueuedAt,
            jobLogger: jobLogger, clock: clock, queueClient: queueClient, dependencies: dependencies,
            worker: configuration.workerID, lease: job.lease, startedAt: startedAt, completionState: completionState,
            redactor: entry?.redactor ?? Redactor(secretFields: []), payload: job.payload
        )

        // One child task runs the body; this task waits for it to end or for a reason to stop it
        // early (the timeout loop, a heartbeat that lost the lease or found a cancel request, the
        // shutdown), then cancels it and still waits for it to end.
        if leaseEnding {
            // The claim's answer came too late (a slow network, a stalled server): the lease may
            // already be gone, so the body must not start at all. Released like a lease that could
            // not be renewed.
            control.stop(.leaseNotRenewed)
            control.bodyEnded(CancellationError())
        } else {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { control.bodyEnded(await self.runBody(job, entry: entry, context: context, span: span)) }
                if await control.waitForEndOrStop() { group.cancelAll() }
            }
        }
        var (bodyError, trigger) = control.result
        // A body that failed because the worker's own task was cancelled was stopped by a
        // shutdown, not by a fault of the job (ServiceGroup cancels its services when one fails).
        if trigger == nil, bodyError != nil, Task.isCancelled { trigger = .shutdown }

        if let completedAt = await completionState.resolvedCompletion() {
            // The job completed itself inside the application's transaction (fenced on the same
            // lease token): the outcome is already durable and must not be written twice.
            release(job)
            wake.signal()
            let finish = AttemptFinish(lease: job.lease, attempt: job.attempt, worker: configuration.workerID, startedAt: startedAt, endedAt: completedAt, outcome: .succeeded, next: .completed)
            metrics.attemptFinished(job, finish: finish, fence: .applied)
            JobTracing.endAttempt(span, outcome: .succeeded, next: .completed, error: nil)
            if let bodyError {
                jobLogger.logger.warning("job threw after completing in its transaction; it stays completed", metadata: ["error_type": "\(type(of: bodyError))"])
            }
            logAttempt(jobLogger, outcome: .succeeded, next: .completed, error: nil, fence: .applied, duration: completedAt.timeIntervalSince(startedAt))
            configuration.onEvent?(.attemptFinished(job.id, attempt: job.attempt, outcome: .succeeded, next: .completed, result: .applied))
            return
        }
        let endedAt = clock.now()
        let redactor = entry?.redactor ?? Redactor(secretFields: [])
        let (outcome, result, error) = judge(bodyError: bodyError, trigger: trigger, options: options, redactor: redactor, payload: job.payload)
        // The jitter's random number only for an attempt that did not succeed (the system
        // generator costs a system call).
        let unitRandom: Double
        if case .succeeded = result { unitRandom = 0 } else { unitRandom = Double.random(in: 0..<1) }
        let next = RetryDecision.next(
            after: result, attempt: job.attempt, maxAttempts: job.maxAttempts, firstAttemptAt: job.firstAttemptAt,
            now: endedAt, options: options, unitRandom: unitRandom
        )
        markFinishing(job)
        wake.signal()
        JobTracing.endAttempt(span, outcome: outcome, next: next, error: error)
        let finish = AttemptFinish(
            lease: job.lease, attempt: job.attempt, worker: configuration.workerID, startedAt: startedAt,
            endedAt: endedAt, outcome: outcome, error: error, next: next
        )
        CrashPoints.reach(.attemptEnded)
        let fence = await completer.submit(finish)
        metrics.attemptFinished(job, finish: finish, fence: fence)
        // The slot was freed above; the claim loop needs another wake-up only when this release
        // lifts the bound on outcomes in flight, and a draining worker counts every release.
        if release(job) || isDraining { wake.signal() }
        logAttempt(jobLogger, outcome: outcome, next: next, error: error, fence: fence, duration: endedAt.timeIntervalSince(startedAt))
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

    private func judge(
        bodyError: (any Error)?, trigger: AttemptControl.Stop?, options: JobOptions, redactor: Redactor, payload: String
    ) -> (AttemptOutcome, RetryDecision.Result, AttemptError?) {
        guard let bodyError else { return (.succeeded, .succeeded, nil) }
        switch trigger {
        case .timedOut:
            let error = AttemptError(type: "Timeout", message: "attempt exceeded its timeout of \(options.timeout)", errorClass: .transient)
            return (.timedOut, .failed(.transient, undecodablePayload: false), error)
        case .shutdown:
            let error = AttemptError(type: "Shutdown", message: "worker shut down before the job finished; released without using an attempt", errorClass: .transient)
            return (.interrupted, .interrupted, error)
        case .leaseLost:
            let error = AttemptError(type: "LeaseLost", message: "the job's lease was lost while it ran", errorClass: .transient)
            return (.lost, .failed(.transient, undecodablePayload: false), error)
        case .leaseNotRenewed:
            let error = AttemptError(
                type: "LeaseNotRenewed",
                message: "the store did not answer heartbeats, so the lease could not be renewed; the attempt was stopped before the lease could expire and released without using an attempt",
                errorClass: .transient
            )
            return (.interrupted, .interrupted, error)
        case .requested(let note):
            return (.cancelled, .cancelled, AttemptError(type: "Cancelled", message: note, errorClass: .permanent))
        default:
            break
        }
        return AttemptJudgement.judge(bodyError, classifier: configuration.classifier, redactor: redactor, payload: payload)
    }

    private func logAttempt(_ jobLogger: JobLogger, outcome: AttemptOutcome, next: NextState, error: AttemptError?, fence: FenceResult?, duration: TimeInterval) {
        // A completed attempt logs at info: skip building its metadata when that level is off
        // (the worker's hot path; every other outcome logs at warning or above).
        if fence == .applied, case .completed = next, jobLogger.logLevel > .info { return }
        let logger = jobLogger.logger
        var metadata: Logger.Metadata = [
            "outcome": "\(outcome.rawValue)",
            "next": "\(next.logDescription)",
            "duration_ms": "\(Int((duration * 1000).rounded()))",
        ]
        if let error {
            metadata["error_class"] = "\(error.errorClass.rawValue)"
            metadata["error_type"] = "\(error.type)"
            metadata["error"] = "\(error.message)"
        }
        switch fence {
        case .applied?:
            switch next {
            case .completed: logger.info("job attempt finished", metadata: metadata)
            case .dead: logger.error("job attempt finished; job moved to the dead-letter inbox", metadata: metadata)
            case .retry, .reschedule, .cancelled: logger.warning("job attempt finished", metadata: metadata)
            }
        case .leaseLost?:
            logger.warning("late outcome refused: the lease was lost (the job was rescued or finished elsewhere)", metadata: metadata)
        case nil:
            logger.error("attempt outcome not recorded (store unavailable at shutdown); the lease will expire and the job will be rescued", metadata: metadata)
        }
    }

    // MARK: Heartbeats and rescue

    private func heartbeatLoop() async {
        let interval = configuration.effectiveHeartbeatInterval
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { return }
            // Attempts whose outcome is being written too: a slow or retried outcome write must
            // not let the lease of a job whose body already ended expire (it would run again).
            let leases = running.withLock { $0.jobs.values.map(\.lease) }
            guard !leases.isEmpty else { continue }
            do {
                let sentAt = clock.now()
                let until = sentAt.adding(configuration.leaseDuration)
                let lost: [Lease]
                if let cancellable = store as? any RunningJobCancellation {
                    let report = try await cancellable.heartbeatReportingCancellations(leases, now: sentAt, until: until)
                    lost = report.lost
                    cancelRequested(report.cancelRequested)
                } else {
                    lost = try await store.heartbeat(leases, now: sentAt, until: until)
                }
                renewed(leases, except: lost, until: until)
                for lease in lost {
                    let stillRunning = running.withLock { running -> Bool in
                        guard let job = running.jobs[lease.jobID], job.lease == lease, !job.finishing else { return false }
                        job.control.stop(.leaseLost)
                        return true
                    }
                    guard stillRunning else { continue }
                    logger.warning("lease lost; cancelling the job's task (its outcome will be refused)", metadata: ["job_id": "\(lease.jobID)"])
                    configuration.onEvent?(.leaseLost(lease.jobID))
                }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                configuration.onEvent?(.storeError("heartbeat: \(error)"))
            }
        }
    }

    /// Records that the leases a heartbeat renewed are held until `until` at least.
    private func renewed(_ leases: [Lease], except lost: [Lease], until: Date) {
        let lost = Set(lost)
        running.withLock { running in
            for lease in leases where !lost.contains(lease) {
                guard var job = running.jobs[lease.jobID], job.lease == lease else { continue }
                job.leaseSurelyHeldUntil = until
                running.jobs[lease.jobID] = job
            }
        }
    }

    /// How long before a lease that could not be renewed can expire the attempt is stopped: a
    /// sixth of the lease (5 s of the default 30 s), time for the stop and its outcome write.
    private var leaseMargin: Duration { configuration.leaseDuration / 6 }

    /// Cancels the tasks of running jobs an operator asked to stop (cooperatively: the job sees
    /// task cancellation; its attempt is recorded `cancelled` when it ends by throwing).
    private func cancelRequested(_ requests: [CancelRequest]) {
        for request in requests {
            let cancelled = running.withLock { running -> Bool in
                guard let job = running.jobs[request.lease.jobID], job.lease == request.lease, !job.finishing else { return false }
                job.control.stop(.requested(request.note))
                return true
            }
            guard cancelled else { continue }
            logger.notice("cancel requested; cancelling the job's task", metadata: [
                "job_id": "\(request.lease.jobID)", "cancelled_by": "\(request.actor)",
            ])
            configuration.onEvent?(.cancelRequested(request.lease.jobID))
        }
    }

    // MARK: Timeouts

    /// Records an attempt's deadline and wakes the timeout loop if it sleeps until a later one.
    /// Returns whether the attempt's lease is already within the margin of its end at `now` (a
    /// claim answered too late): then its body must not start.
    private func armTimeout(_ id: JobID, deadline: Date, now: Date) -> Bool {
        // Both under the `running` lock, like the loop's computation of its next deadline, so a
        // deadline is never missed between that computation and the loop's sleep.
        let margin = leaseMargin
        let (earlier, leaseEnding) = running.withLock { running -> (Bool, Bool) in
            guard var job = running.jobs[id] else { return (false, false) }
            job.deadline = deadline
            running.jobs[id] = job
            let leaseStop = job.leaseStop(margin: margin)
            let first = min(deadline, leaseStop)
            return (armedDeadline.withLock { armed in armed.map { first < $0 } ?? true }, leaseStop <= now)
        }
        if earlier { timeoutWake.signal() }
        return leaseEnding
    }

    /// One loop enforces every running attempt's timeout and lease: it sleeps until the earliest
    /// deadline (instead of a timer per job), stops the attempts whose deadline passed, and
    /// sleeps again. An attempt whose lease was not renewed in time (heartbeats failing: a
    /// partition, a store outage) is stopped a margin before the lease can expire, so it does
    /// not run on while the rescuer hands the job to another worker.
    private func timeoutLoop() async {
        let margin = leaseMargin
        var stoppedForLease: [JobID] = []
        while !Task.isCancelled {
            let now = clock.now()
            stoppedForLease.removeAll()
            let next = running.withLock { running -> Date? in
                var earliest: Date?
                for job in running.jobs.values where !job.finishing {
                    let leaseDeadline = job.leaseStop(margin: margin)
                    if leaseDeadline <= now {
                        if job.control.stop(.leaseNotRenewed) { stoppedForLease.append(job.lease.jobID) }
                        continue
                    }
                    var deadline = leaseDeadline
                    if let timeout = job.deadline {
                        if timeout <= now {
                            job.control.stop(.timedOut)
                            continue
                        }
                        deadline = min(deadline, timeout)
                    }
                    if earliest.map({ deadline < $0 }) ?? true {
                        earliest = deadline
                    }
                }
                armedDeadline.withLock { $0 = earliest }
                return earliest
            }
            for id in stoppedForLease {
                logger.warning("lease not renewed in time (heartbeats failing); stopping the job before its lease can expire", metadata: ["job_id": "\(id)"])
                configuration.onEvent?(.leaseLost(id))
            }
            if let next {
                await timeoutWake.wait(until: next, clock: clock)
            } else {
                await timeoutWake.wait()
            }
        }
    }

    private func rescueLoop(every interval: Duration) async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { break }
            do {
                // On a shared store one node at a time rescues (MaintenanceLeadership); the others skip.
                _ = try await store.asMaintenanceLeader(of: "rescue") {
                    try await LeaseRescuer.rescueOnce(store: self.store, registry: self.registry, clock: self.clock, logger: self.logger, limit: 100, metrics: self.metrics, onEvent: self.configuration.onEvent)
                }
            } catch {
                logger.warning("rescue failed", metadata: ["error": "\(error)"])
                configuration.onEvent?(.storeError("rescue: \(error)"))
            }
        }
        // Another node (or another worker on this store) takes the rescue over.
        await store.resignMaintenanceLeadership(of: "rescue")
    }
}

/// Thrown when a stored payload no longer decodes into its job type: permanent, and marked so
/// that a requeue refuses it unless forced.
package struct PayloadDecodingFailure: Error, CustomStringConvertible {
    package var type: String
    package var detail: String
    package init(type: String, detail: String) {
        self.type = type
        self.detail = detail
    }
    package var description: String { "payload does not decode as \(type): \(detail)" }
}

extension NextState {
    var logDescription: String {
        switch self {
        case .completed: "completed"
        case .retry(let at): "retry at \(at.formatted(.iso8601))"
        case .reschedule(let at): "reschedule at \(at.formatted(.iso8601))"
        case .dead(let reason): "dead (\(reason.rawValue))"
        case .cancelled: "cancelled"
        }
    }
}
