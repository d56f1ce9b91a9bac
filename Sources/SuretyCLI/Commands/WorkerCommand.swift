import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Surety
import SuretyAlerts
import SuretyDashboard
import SuretySQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `surety worker`: runs, in one process, everything an operator expects from one command: a
/// Worker for the chosen queues (with lease rescue), the application's schedules and any
/// `--schedule`, retention, alert monitors with `--alerts`, and Prometheus `/metrics` with a queue
/// depth sampler on `--metrics-port`; until SIGTERM or SIGINT (graceful: stop claiming, let
/// running jobs finish within the grace period, release the rest without using an attempt).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker until SIGTERM or SIGINT.",
        discussion: """
            Runs the application's job types (SuretyApplication) with its dependencies and \
            schedules; the `surety` executable itself knows only the demo types (--demo-jobs). \
            Also runs rescue, retention, the application's and --schedule schedules, alerts \
            (--alerts) and /metrics (--metrics-port). One log line per attempt goes to standard error \
            (payloads are never logged). SIGTERM or SIGINT drains gracefully; exit code 0 after a \
            clean drain.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("A queue to claim from (repeatable). Default: default, plus email and payments with --demo-jobs.", valueName: "queue"))
    var queue: [String] = []

    @Option(name: .long, help: "How many jobs run at once.")
    var concurrency: Int = 10

    @Flag(name: .customLong("demo-jobs"), help: "Register the demo job types (and create their tables).")
    var demoJobs = false

    @Option(name: .customLong("lease-seconds"), help: "How long a claim holds a job without a heartbeat; a crashed worker's jobs come back after this. Heartbeats run every third of it.")
    var leaseSeconds: Double = 30

    @Option(name: .customLong("rescue-interval-seconds"), help: "How often to look for expired leases to rescue; 0 disables rescue in this worker.")
    var rescueIntervalSeconds: Double = 5

    @Option(name: .customLong("poll-interval-ms"), help: "How long an idle worker waits before looking for work again.")
    var pollIntervalMilliseconds: Int = 1000

    @Option(name: .customLong("shutdown-grace-seconds"), help: "How long a graceful shutdown waits for running jobs before releasing them.")
    var shutdownGraceSeconds: Double = 25

    @Option(name: .customLong("worker-id"), help: ArgumentHelp("The worker's name in leases, history and logs. Default: host:pid:random.", valueName: "id"))
    var workerID: String?

    @Option(name: .customLong("log-level"), help: "The lowest log level written to standard error.")
    var logLevel: LogLevelOption = .info

    @OptionGroup(title: "Retention") var retention: RetentionOptions

    @Flag(name: .customLong("no-retention"), help: "Do not prune finished jobs from this worker (run `surety prune` or another node's retention instead).")
    var noRetention = false

    @Option(name: .long, help: ArgumentHelp(
        "A recurring schedule this worker runs (repeatable): '\(ScheduleArgument.format)', for example 'tick|*/5 * * * * *|demo.noop'. Slots are UTC and jobs run for the system tenant; OVERLAP is skip (default), queue_one or allow. Several nodes may run the same schedules: each slot becomes exactly one job.",
        valueName: "schedule"
    ))
    var schedule: [String] = []

    @Option(name: .customLong("retention-interval"), help: ArgumentHelp("How often this worker runs a retention pass (one node at a time on a shared store).", valueName: "duration"))
    var retentionInterval: String = "5m"

    @Option(name: .customLong("demo-seed"), help: ArgumentHelp("Makes the demo jobs' random choices a function of (seed, job, attempt).", valueName: "n"))
    var demoSeed: UInt64?

    @Option(name: .customLong("demo-email-error-rate"), help: "Probability per attempt that the simulated email provider answers 502.")
    var demoEmailErrorRate: Double = DemoFaults().emailProviderErrorRate

    @Option(name: .customLong("demo-email-lost-rate"), help: "Probability per attempt that the provider accepts a message and the response is lost.")
    var demoEmailLostRate: Double = DemoFaults().emailResponseLostRate

    @Option(name: .customLong("demo-payment-lost-rate"), help: "Probability per attempt that a committed transfer's response is lost.")
    var demoPaymentLostRate: Double = DemoFaults().paymentResponseLostRate

    @Option(name: .long, help: ArgumentHelp("Also evaluate alerts with this JSON configuration (docs/alerts.md).", valueName: "file"))
    var alerts: String?

    /// Used by `surety demo` for its worker process: shut down gracefully when the parent process
    /// is gone, so a demo that is itself killed leaves no worker behind.
    @Flag(name: .customLong("exit-with-parent"), help: .hidden)
    var exitWithParent = false

    /// Used by `surety prove` for its worker processes: run the prove job types (queue `prove`).
    @Flag(name: .customLong("prove-jobs"), help: .hidden)
    var proveJobs = false

    @Option(name: .customLong("metrics-port"), help: ArgumentHelp("Serve Prometheus /metrics (job metrics and queue depths) on this port. Default: no endpoint.", valueName: "port"))
    var metricsPort: Int?

    @Option(name: .customLong("metrics-host"), help: ArgumentHelp("The address /metrics listens on.", valueName: "address"))
    var metricsHost = "127.0.0.1"

    /// The job types this worker runs: the application's, plus the demo types with --demo-jobs.
    var registry: JobRegistry {
        if proveJobs { return ProveJobs.registry }
        let application = SuretyApplication.current
        return JobRegistry(application.jobs + (demoJobs ? DemoJobs.types : []))
    }

    func validate() throws {
        let application = SuretyApplication.current
        if demoJobs && !application.includesDemoJobs {
            throw ValidationError("--demo-jobs: this application does not include the demo job types")
        }
        guard demoJobs || proveJobs || !application.jobs.isEmpty else {
            throw ValidationError("""
                no job types to run: pass --demo-jobs. The `surety` executable knows only the demo job types; \
                an application runs its own types with `swift run MyApp surety worker` (SuretyApplication).
                """)
        }
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be between 0 and 65535, got \(metricsPort)")
        }
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 1000") }
        _ = try TimeArguments.seconds(leaseSeconds, option: "--lease-seconds", minimum: 0.1)
        _ = try TimeArguments.seconds(rescueIntervalSeconds, option: "--rescue-interval-seconds", minimum: 0)
        guard (1...Self.maximumPollIntervalMilliseconds).contains(pollIntervalMilliseconds) else {
            throw ValidationError("--poll-interval-ms must be between 1 and \(Self.maximumPollIntervalMilliseconds) (one day), got \(pollIntervalMilliseconds)")
        }
        _ = try TimeArguments.seconds(shutdownGraceSeconds, option: "--shutdown-grace-seconds", minimum: 0)
        for rate in [demoEmailErrorRate, demoEmailLostRate, demoPaymentLostRate] where !(0...1).contains(rate) {
            throw ValidationError("demo fault rates must be between 0 and 1")
        }
        if let workerID, workerID.isEmpty { throw ValidationError("--worker-id must not be empty") }
        if let alerts {
            do { _ = try AlertConfiguration.load(path: alerts) } catch let error as SuretyError { throw ValidationError(error.message) }
        }
        if queue.contains(where: \.isEmpty) { throw ValidationError("--queue must not be empty") }
        do { _ = try schedules() } catch let error as SuretyError { throw ValidationError(error.message) }
        guard try TimeArguments.duration(retentionInterval, option: "--retention-interval") > .zero else {
            throw ValidationError("--retention-interval must be positive")
        }
    }

    /// The longest `--poll-interval-ms`: one day.
    static let maximumPollIntervalMilliseconds = 86_400_000

    var queues: [String] {
        if !queue.isEmpty { return queue }
        if proveJobs { return [ProveJobs.queue] }
        let application = SuretyApplication.current
        var queues = application.jobs.isEmpty ? [] : application.queues
        if demoJobs { queues += DemoJobs.queues.filter { !queues.contains($0) } }
        return queues.isEmpty ? ["default"] : queues
    }

    /// The `--schedule` values, parsed.
    func schedules() throws -> [Schedule] {
        let application = SuretyApplication.current
        let schedules = application.schedules + (try schedule.map { try ScheduleArgument.parse($0, types: application.knownTypes) })
        var names: Set<String> = []
        for schedule in schedules where !names.insert(schedule.name).inserted {
            throw SuretyError(.invalidArgument, "two schedules are named '\(schedule.name)'; names must be unique")
        }
        return schedules
    }

    var faults: DemoFaults {
        DemoFaults(emailProviderErrorRate: demoEmailErrorRate, emailResponseLostRate: demoEmailLostRate, paymentResponseLostRate: demoPaymentLostRate)
    }

    func run() async throws {
        let logger = Logs.standardError("surety.worker", level: logLevel.level)
        try await storeOptions.withStore(create: true, logger: logger) { try await run(opened: $0, logger: logger) }
    }

    func run(opened: OpenStore, logger: Logger) async throws {
        let (store, url) = (opened.store, opened.url)
        var dependencies = proveJobs ? JobDependencies() : try await SuretyApplication.current.dependencies(opened)
        if demoJobs {
            let tables = try await opened.demoTables()
            dependencies.register(DemoServices(tables: tables, faults: faults, seed: demoSeed))
            // On SQLite, demo.payment completes inside its own transaction through the store.
            if let sqlite = opened.sqlite { dependencies.register(sqlite) }
        }
        let id = workerID ?? WorkerConfiguration.defaultWorkerID()
        let startLogger: Logger = {
            var copy = logger
            copy[metadataKey: "worker"] = "\(id)"
            return copy
        }()
        let configuration = WorkerConfiguration(
            queues: queues,
            concurrency: concurrency,
            leaseDuration: .interval(leaseSeconds),
            pollInterval: .milliseconds(pollIntervalMilliseconds),
            rescueInterval: rescueIntervalSeconds > 0 ? .interval(rescueIntervalSeconds) : nil,
            shutdownGracePeriod: .interval(shutdownGraceSeconds),
            workerID: id,
            onEvent: { event in
                // The worker logs each attempt's end; the start is logged here, so an operator
                // (or a test) sees a job begin before it ends. No payload is ever logged.
                if case .attemptStarted(let job, let attempt, let tenant) = event {
                    startLogger.info("job attempt started", metadata: [
                        "job_id": "\(job)", "attempt": "\(attempt)", "tenant": "\(tenant)",
                    ])
                }
            }
        )
        let worker = Worker(store: store, registry: registry, configuration: configuration,
                            dependencies: dependencies, logger: logger)
        logger.info("worker starting", metadata: [
            "store": "\(url)", "worker": "\(id)", "queues": "\(queues.joined(separator: ","))",
            "pid": "\(ProcessInfo.processInfo.processIdentifier)",
        ])
        var services: [any Service] = [worker]
        if !noRetention {
            let policy = try retention.policy(interval: try TimeArguments.duration(retentionInterval, option: "--retention-interval"))
            services.append(RetentionService(store: store, policy: policy, logger: Logs.standardError("surety.retention", level: logLevel.level)))
        }
        let schedules = try schedules()
        if !schedules.isEmpty {
            guard let scheduleStore = store as? any ScheduleStore & JobInspectionStore else {
                throw SuretyError(.invalidArgument, "the store \(url) does not keep schedules; --schedule needs one that does")
            }
            services.append(try Scheduler(store: scheduleStore, schedules: schedules, logger: Logs.standardError("surety.scheduler", level: logLevel.level)))
        }
        if let alerts {
            services.append(try AlertsWiring.monitor(path: alerts, store: store, registry: registry,
                                                     logger: Logs.standardError("surety.alerts", level: logLevel.level)))
        }
        if let metricsPort {
            services.append(contentsOf: metricsServices(store: store, port: metricsPort, logger: logger))
        }
        var configurations = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if exitWithParent {
            configurations.append(ServiceGroupConfiguration.ServiceConfiguration(
                service: ParentProcessWatcher(parent: getppid(), logger: logger), successTerminationBehavior: .gracefullyShutdownGroup
            ))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger
        ))
        try await group.run()
    }
}

extension WorkerCommand {

    /// `/metrics` on `port` and the queue depth sampler that feeds it.
    func metricsServices(store: any CommandStore, port: Int, logger: Logger) -> [any Service] {
        let router = Router()
        router.addRoutes(PrometheusExposition.routes(registry: ProcessMetrics.registry, context: BasicRequestContext.self))
        let host = metricsHost
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "surety-worker"),
            onServerRunning: { channel in
                logger.info("metrics listening", metadata: ["address": "http://\(host):\(channel.localAddress?.port ?? 0)/metrics"])
            },
            logger: logger
        )
        return [QueueDepthSampler(store: store, interval: .seconds(10), logger: logger), app]
    }
}
