import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Surety
import SuretyDashboard
import SuretySQLite

/// `surety serve`: the web dashboard, its JSON API and Prometheus /metrics, optionally with
/// workers for the demo job types in the same process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the dashboard, its JSON API and /metrics (and optionally run workers).",
        discussion: """
            Every page and API call needs a token: --token or $\(tokenVariable) (send it as \
            Authorization: Bearer TOKEN, as the password of basic credentials, or on the sign-in \
            page). --tenant-token TENANT=TOKEN adds a credential restricted to one tenant's jobs. \
            Without a token the server refuses to start, unless --read-only on a loopback address. \
            Prints "dashboard: http://HOST:PORT/" once listening. SIGTERM or SIGINT stops gracefully.
            """
    )

    static let tokenVariable = "SURETY_DASHBOARD_TOKEN"

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "The address to listen on. Default: 127.0.0.1 (only this machine).")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "The port to listen on; 0 picks a free one.")
    var port: Int = 8080

    @Option(name: .long, help: ArgumentHelp("The dashboard's token (at least 8 characters). Default: $\(tokenVariable).", valueName: "token"))
    var token: String?

    @Option(name: .customLong("tenant-token"), help: ArgumentHelp("A token that sees and acts on one tenant's jobs only (repeatable).", valueName: "tenant=token"))
    var tenantTokens: [String] = []

    @Flag(name: .customLong("read-only"), help: "Refuse every action (requeue, discard). Without a token, allowed only on a loopback address.")
    var readOnly = false

    @Flag(name: .customLong("secure-cookies"), help: "Mark the sign-in cookies Secure, so browsers send them over HTTPS only. Set it when the dashboard is reached through HTTPS (a TLS-terminating proxy).")
    var secureCookies = false

    @Option(name: .long, help: "Run a worker for the demo job types in this process with this many jobs at once; 0 runs none.")
    var workers: Int = 0

    @Option(name: .customLong("metrics-interval-seconds"), help: "How often queue depth is sampled into the surety_queue_depth gauges.")
    var metricsIntervalSeconds: Double = 15

    @Option(name: .long, help: "A label shown in the page header (the environment, say).")
    var title: String = "surety"

    @Option(name: .customLong("log-level"), help: "The lowest log level written to standard error.")
    var logLevel: LogLevelOption = .info

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...1000).contains(workers) else { throw ValidationError("--workers must be between 0 and 1000") }
        guard metricsIntervalSeconds >= 0.1, metricsIntervalSeconds.isFinite else { throw ValidationError("--metrics-interval-seconds must be at least 0.1") }
        if let token, token.count < 8 { throw ValidationError("--token must have at least 8 characters") }
        _ = try credentials()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The credentials from --token / $SURETY_DASHBOARD_TOKEN and --tenant-token.
    func credentials(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [DashboardCredential] {
        var result: [DashboardCredential] = []
        let main = token ?? environment[Self.tokenVariable].flatMap { $0.isEmpty ? nil : $0 }
        do {
            if let main { result.append(try DashboardCredential(token: main)) }
            for text in tenantTokens { result.append(try DashboardCredential.parseTenantToken(text)) }
        } catch let error as DashboardError {
            throw ValidationError(error.message)
        }
        return result
    }

    /// The dashboard's configuration from the command's flags.
    func dashboardConfiguration(credentials: [DashboardCredential]) -> DashboardConfiguration {
        DashboardConfiguration(credentials: credentials, readOnly: readOnly,
                               allowAnonymousReadOnly: credentials.isEmpty && readOnly, secureCookies: secureCookies, title: title)
    }

    /// One registry per process: swift-metrics can be bootstrapped once.
    static var metricsRegistry: PrometheusCollectorRegistry { ProcessMetrics.registry }

    func run() async throws {
        let logger = Logs.standardError("surety.serve", level: logLevel.level)
        let credentials = try credentials()
        if credentials.isEmpty && !(readOnly && Self.isLoopback(host)) {
            throw CLIError("""
                refusing to serve without a token: pass --token or set \(Self.tokenVariable) \
                (or --read-only on a loopback address such as 127.0.0.1)
                """, exitCode: ExitCodes.usage)
        }
        try await storeOptions.withStore(create: true, logger: logger) { opened in
            try await serve(opened, credentials: credentials, logger: logger)
        }
    }

    /// Serves the dashboard on an open store (SQLite, or PostgreSQL whose pool runs meanwhile).
    func serve(_ opened: OpenStore, credentials: [DashboardCredential], logger: Logger) async throws {
        let registry = Self.metricsRegistry
        let (store, url) = (opened.store, opened.url)
        let dashboard = Dashboard(
            store: store, registry: SuretyApplication.current.knownRegistry, configuration: dashboardConfiguration(credentials: credentials),
            metrics: registry, logger: logger
        )
        do { try dashboard.validate() } catch let error as DashboardError {
            throw CLIError(error.message, exitCode: ExitCodes.usage)
        }
        var services: [any Service] = [
            QueueDepthSampler(store: store, interval: .interval(metricsIntervalSeconds), logger: logger),
        ]
        let application = SuretyApplication.current
        if workers > 0, !application.jobs.isEmpty {
            // An application's own types, with its dependencies.
            let configuration = WorkerConfiguration(queues: application.queues, concurrency: workers)
            services.append(Worker(store: store, registry: application.registry, configuration: configuration,
                                   dependencies: try await application.dependencies(opened), logger: logger))
        } else if workers > 0 {
            var dependencies = JobDependencies()
            if let sqlite = opened.sqlite {
                do { try await DemoSchema.migrate(sqlite.database) } catch {
                    throw StoreOpener.describe(error, action: "create the demo tables in", url: url)
                }
                dependencies.register(DemoServices(database: sqlite.database, faults: DemoFaults(), seed: nil))
                dependencies.register(sqlite)
            }
            let configuration = WorkerConfiguration(queues: DemoJobs.queues, concurrency: workers)
            services.append(Worker(store: store, registry: DemoJobs.registry, configuration: configuration,
                                   dependencies: dependencies, logger: logger))
        }
        let host = self.host
        let app = Application(
            router: dashboard.makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "surety"),
            services: services,
            onServerRunning: { channel in
                let actual = channel.localAddress?.port ?? 0
                let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                Console.line("dashboard: http://\(shown):\(actual)/")
                logger.info("dashboard listening", metadata: [
                    "store": "\(url)", "port": "\(actual)", "read_only": "\(readOnly)", "workers": "\(workers)",
                    "pid": "\(ProcessInfo.processInfo.processIdentifier)",
                ])
            },
            logger: logger
        )
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
