import Foundation
import Logging
import ServiceLifecycle
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

    /// The attempts, slots, drain flag and deadlines, under the worker's one lock; shared by
    /// the loops below.
    private let state: SharedWorkerState

    /// - Parameters:
    ///   - store: where jobs are kept.
    ///   - registry: the job types this worker can run. A claimed job of an unknown type fails
    ///     transiently (retrying with backoff, so a newer worker can take it) and is never dropped.
    ///   - configuration: Default: `WorkerConfiguration()`, with the defaults its properties state.
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
        self.state = SharedWorkerState(concurrency: configuration.concurrency, leaseDuration: configuration.leaseDuration)
    }

    /// Runs until graceful shutdown (or cancellation).
    ///
    /// The worker's parts run as children of one task group: the claim loop (claims, runs each
    /// job's attempt, drains), the heartbeats, the timeout watcher, the lease rescue and the
    /// forwarding of the store's wake-ups; the outcome writer runs beside them as a task of its
    /// own. They share one state (attempts, slots, drain, deadlines) under one lock.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for an unusable configuration.
    public func run() async throws {
        guard configuration.concurrency >= 1 else { throw SuretyError(.invalidArgument, "concurrency must be at least 1") }
        guard !configuration.queues.isEmpty else { throw SuretyError(.invalidArgument, "a worker needs at least one queue") }
        let completer = CompletionBatcher(store: store, clock: clock, logger: logger) { [configuration] message in
            configuration.onEvent?(.storeError(message))
        }
        let runner = AttemptRunner(
            registry: registry, configuration: configuration, clock: clock, logger: logger, queueClient: queueClient,
            dependencies: dependencies, metrics: metrics, tracer: configuration.tracing.resolved, completer: completer, state: state
        )
        let claimLoop = ClaimLoop(store: store, configuration: configuration, clock: clock, logger: logger, state: state, runner: runner)
        let heartbeater = Heartbeater(store: store, configuration: configuration, clock: clock, logger: logger, state: state)
        let timeoutWatcher = TimeoutWatcher(configuration: configuration, clock: clock, logger: logger, state: state)
        let rescue = configuration.rescueInterval.map {
            LeaseRescueLoop(store: store, registry: registry, configuration: configuration, clock: clock, logger: logger, metrics: metrics, interval: $0)
        }
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
                    aux.addTask { await heartbeater.run() }
                    aux.addTask { await timeoutWatcher.run() }
                    if let rescue {
                        aux.addTask { await rescue.run() }
                    }
                    if let notifier = self.store as? any AvailabilitySignalStore {
                        aux.addTask {
                            for await _ in notifier.availabilitySignals() { self.state.claimWake.signal() }
                        }
                    }
                    await withTaskExecutorPreference(control) { await claimLoop.run() }
                    aux.cancelAll()
                }
            } onCancel: {
                // A cancelled worker shuts down at once: every running attempt is released
                // without using an attempt, as at the end of a grace period.
                self.state.cancelled()
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
        guard state.drainBegun() else { return }
        configuration.onEvent?(.draining)
        logger.info("worker draining", metadata: ["running": "\(state.runningCount)"])
        state.claimWake.signal()
    }
}
