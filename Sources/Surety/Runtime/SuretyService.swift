import Logging
import ServiceLifecycle

/// Everything a process runs for its jobs, as one ServiceLifecycle `Service`: a ``Worker`` for the
/// configured queues (with lease rescue), a ``Scheduler`` for the recurring schedules, a
/// ``RetentionService``, a ``QueueDepthSampler`` for the queue-depth gauges, and any alert
/// monitor or other service given. Put it in your `ServiceGroup` or Hummingbird's
/// `Application(services:)`; a graceful shutdown reaches every part (the worker drains).
///
/// ```swift
/// let surety = try SuretyService(store: store, registry: JobRegistry([SendWelcomeEmail.self]),
///                                configuration: .init(worker: WorkerConfiguration(queues: ["default", "email"])))
/// let group = ServiceGroup(services: [surety], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct SuretyService: Service {
    /// What runs besides the worker, and how.
    public struct Configuration: Sendable {
        /// The worker's queues, concurrency, lease and shutdown grace. Default: `WorkerConfiguration()`.
        public var worker: WorkerConfiguration
        /// Recurring schedules; run only when the store keeps schedules. Default: none.
        public var schedules: [Schedule]
        /// How finished jobs are pruned; `nil` runs no retention here. Default: `RetentionPolicy()`.
        public var retention: RetentionPolicy?
        /// How often queue depths are sampled into gauges; `nil` samples nothing, nor does a store
        /// without ``JobInspectionStore``. Default: 15 s.
        public var queueDepthInterval: Duration?

        /// - Parameters: see the properties; each has the default it states.
        public init(
            worker: WorkerConfiguration = WorkerConfiguration(), schedules: [Schedule] = [],
            retention: RetentionPolicy? = RetentionPolicy(), queueDepthInterval: Duration? = .seconds(15)
        ) {
            self.worker = worker
            self.schedules = schedules
            self.retention = retention
            self.queueDepthInterval = queueDepthInterval
        }
    }

    /// The services this one runs, in start order.
    public let services: [any Service]

    /// - Parameters:
    ///   - store: where jobs live.
    ///   - registry: the job types the worker runs.
    ///   - configuration: Default: `Configuration()`.
    ///   - dependencies: what jobs reach with `context.dependency(T.self)`. Default: none.
    ///   - additional: more services to run alongside (SuretyAlerts' `AlertMonitor`, say: the core does not depend on it). Default: none.
    ///   - clock: Default: the system clock.
    ///   - logger: Default: a logger labelled `surety`.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when schedules are given and the store keeps
    ///   none, or a schedule is invalid (``Scheduler``'s errors).
    public init(
        store: any JobStore, registry: JobRegistry, configuration: Configuration = Configuration(),
        dependencies: JobDependencies = JobDependencies(), additional: [any Service] = [],
        clock: any SuretyClock = SystemClock(), logger: Logger = Logger(label: "surety")
    ) throws {
        var services: [any Service] = [
            Worker(store: store, registry: registry, configuration: configuration.worker, dependencies: dependencies, clock: clock, logger: logger),
        ]
        if !configuration.schedules.isEmpty {
            guard let scheduleStore = store as? any ScheduleStore & JobInspectionStore else {
                throw SuretyError(.invalidArgument, "this store keeps no schedules; recurring schedules need a store that conforms to ScheduleStore and JobInspectionStore")
            }
            services.append(try Scheduler(store: scheduleStore, schedules: configuration.schedules, clock: clock, logger: logger))
        }
        if let retention = configuration.retention {
            services.append(RetentionService(store: store, policy: retention, clock: clock, logger: logger))
        }
        if let interval = configuration.queueDepthInterval, let store = store as? any JobInspectionStore {
            services.append(QueueDepthSampler(store: store, interval: interval, clock: clock, logger: logger))
        }
        self.services = services + additional
    }

    /// Runs every part until a graceful shutdown (each part sees it) or until one fails (the
    /// others are then cancelled and the error is thrown).
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try await service.run() }
            }
        }
    }
}
