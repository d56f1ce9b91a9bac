import Logging
import ServiceLifecycle
import Surety
import Vapor

extension Application {
    /// Surety in this Vapor application: configure it once with ``SuretyJobs/use(store:registry:queue:tenant:)``,
    /// then enqueue from handlers with `req.surety` and run workers with ``SuretyJobs/runInProcess(configuration:dependencies:additional:commands:logger:)``.
    ///
    /// ```swift
    /// app.surety.use(store: store, registry: JobRegistry([SendWelcomeEmail.self])) { req in
    ///     try req.headers.first(name: "X-Tenant").map { try TenantID($0) }
    /// }
    /// try app.surety.runInProcess(configuration: .init(worker: WorkerConfiguration(queues: ["default", "email"])))
    /// ```
    public var surety: SuretyJobs { SuretyJobs(application: self) }

    /// What `app.surety` offers: the configuration and the in-process runtime.
    public struct SuretyJobs: Sendable {
        /// Finds a request's tenant; `nil` when the request has none (its enqueue is refused with a 400).
        public typealias TenantResolver = @Sendable (Request) throws -> TenantID?

        /// What ``use(store:registry:queue:tenant:)`` stored.
        struct Configuration: Sendable {
            var store: any JobStore
            var registry: JobRegistry
            var queue: JobQueue
            var tenant: TenantResolver
        }

        struct ConfigurationKey: StorageKey {
            typealias Value = Configuration
        }

        let application: Application

        /// Configures Surety for this application.
        ///
        /// When the store is also a ServiceLifecycle `Service` (`PostgresStore`: its connection
        /// pool), it runs with the application from boot to shutdown, so handlers can enqueue
        /// whatever command the application runs.
        /// - Parameters:
        ///   - store: where jobs live: an `SQLiteStore` in a file of its own (docs/vapor.md) or a `PostgresStore`.
        ///   - registry: the job types the application runs.
        ///   - queue: the client `req.surety` enqueues with. Default: `JobQueue(store: store, registry: registry)`.
        ///   - tenant: finds a request's tenant (a header your authentication checked, a subdomain, the signed-in user).
        public func use(store: any JobStore, registry: JobRegistry, queue: JobQueue? = nil, tenant: @escaping TenantResolver) {
            application.storage[ConfigurationKey.self] = Configuration(
                store: store, registry: registry, queue: queue ?? JobQueue(store: store, registry: registry), tenant: tenant
            )
            if let service = store as? any ServiceLifecycle.Service {
                lifecycle.add(service, onlyFor: nil)
            }
        }

        /// Whether ``use(store:registry:queue:tenant:)`` was called.
        public var isConfigured: Bool { application.storage[ConfigurationKey.self] != nil }

        /// The configured store.
        /// - Throws: `SuretyError.Code.invalidState` before ``use(store:registry:queue:tenant:)``.
        public func store() throws -> any JobStore { try configuration().store }

        /// The configured registry.
        /// - Throws: `SuretyError.Code.invalidState` before ``use(store:registry:queue:tenant:)``.
        public func registry() throws -> JobRegistry { try configuration().registry }

        /// The configured client.
        /// - Throws: `SuretyError.Code.invalidState` before ``use(store:registry:queue:tenant:)``.
        public func queue() throws -> JobQueue { try configuration().queue }

        func configuration() throws -> Configuration {
            guard let configuration = application.storage[ConfigurationKey.self] else {
                throw SuretyError(.invalidState, "Surety is not configured on this Vapor application; call app.surety.use(store:registry:tenant:) in configure")
            }
            return configuration
        }

        /// Runs a `SuretyService` (workers, schedules, retention, queue depths) inside this
        /// application's lifecycle: it starts when the application boots for one of `commands`
        /// and drains on `app.asyncShutdown()` (running jobs get the worker's shutdown grace).
        ///
        /// - Parameters:
        ///   - configuration: the worker's queues and concurrency, schedules, retention. Default: `SuretyService.Configuration()`.
        ///   - dependencies: what jobs reach with `context.dependency(T.self)`. Default: none.
        ///   - additional: more services to run alongside (SuretyAlerts' `AlertMonitor`, say). Default: none.
        ///   - commands: the Vapor commands that run workers (the command is the first argument
        ///     that is not an option, as for Vapor; none is the default command, counted as
        ///     `serve`); `nil`: whatever the command. Default: `["serve"]` (not `migrate`, `routes`
        ///     or `surety`). Tests that build their app with `Environment.testing` see the test
        ///     runner's arguments: give them `Environment(name: "testing", arguments: ["app"])` or `nil`.
        ///   - logger: Default: the application's logger.
        /// - Throws: `SuretyError.Code.invalidState` before ``use(store:registry:queue:tenant:)``,
        ///   or `SuretyService`'s errors.
        public func runInProcess(
            configuration: SuretyService.Configuration = SuretyService.Configuration(),
            dependencies: JobDependencies = JobDependencies(), additional: [any ServiceLifecycle.Service] = [],
            commands: Set<String>? = ["serve"], logger: Logger? = nil
        ) throws {
            let surety = try self.configuration()
            let service = try SuretyService(
                store: surety.store, registry: surety.registry, configuration: configuration,
                dependencies: dependencies, additional: additional, clock: surety.queue.clock,
                logger: logger ?? application.logger
            )
            lifecycle.add(service, onlyFor: commands)
        }

        /// The lifecycle handler this application's Surety services run in (created once).
        var lifecycle: SuretyLifecycle {
            if let existing = application.storage[SuretyLifecycle.Key.self] { return existing }
            let created = SuretyLifecycle(logger: application.logger)
            application.storage[SuretyLifecycle.Key.self] = created
            application.lifecycle.use(created)
            return created
        }
    }
}
