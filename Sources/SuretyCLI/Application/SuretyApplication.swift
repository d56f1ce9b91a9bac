import Foundation
import Surety

/// What an application brings to the `surety` commands when it runs them inside its own binary:
/// its job types, the dependencies its jobs need, its recurring schedules, its tenant rule and its
/// default store.
///
/// ```swift
/// // In the app's main.swift (or its @main type), before starting the server:
/// let surety = SuretyApplication(
///     jobs: [SendWelcomeEmail.self, ChargeOrder.self, NightlyReport.self],
///     queues: ["default", "email"],
///     schedules: [try Schedule(name: "nightly-report", cron: "0 0 3 * * *", job: NightlyReport(), tenant: .system)],
///     dependencies: { store in
///         var dependencies = JobDependencies()
///         dependencies.register(Mailer(apiKey: ProcessInfo.processInfo.environment["MAIL_KEY"] ?? ""))
///         return dependencies
///     }
/// )
/// if CommandLine.arguments.dropFirst().first == "surety" {
///     await SuretyCommand.runAndExit(surety, arguments: Array(CommandLine.arguments.dropFirst(2)))
/// }
/// ```
///
/// Then `swift run MyApp surety worker|enqueue|jobs|dlq|stats|top|schedules|limits|prune|serve|migrate|prove`
/// runs every command with the app's types: `surety worker` runs the app's jobs with its
/// dependencies and schedules (plus retention, rescue, alerts and `/metrics` when asked), and
/// `jobs show`, `dlq show` and the dashboard show the app's payloads with their secret fields
/// redacted instead of masking them whole. The `surety` executable is one user of this type:
/// ``builtIn``, which knows the demo job types.
public struct SuretyApplication: Sendable {
    /// The application's job types. Default: none.
    public var jobs: [any Job.Type]
    /// The queues `surety worker` claims from when no `--queue` is given. Default: `["default"]`.
    public var queues: [String]
    /// Recurring schedules `surety worker` runs (besides any `--schedule`). Default: none.
    public var schedules: [Schedule]
    /// Builds the dependencies the jobs reach with `context.dependency(T.self)`, given the store
    /// the command opened (for jobs that complete inside the app's own transaction). Called once
    /// per `surety worker` or `surety serve --workers`. Default: none.
    public var dependencies: @Sendable (OpenStore) async throws -> JobDependencies
    /// The store URL when neither `--store` nor `$SURETY_STORE` is given. Default: `nil`
    /// (`sqlite:surety.sqlite` in the working folder).
    public var defaultStore: String?
    /// Whether the demo job types are known too (`surety enqueue demo.*`, `surety worker
    /// --demo-jobs`, `surety demo`). Default: `false`; `true` for ``builtIn``.
    public var includesDemoJobs: Bool
    /// The application's rule for the tenants an operator may enqueue for: `surety enqueue
    /// --tenant T` and every line of `surety enqueue --file` ask it, given the store the command
    /// opened (so it can look the tenant up in the app's own tables), before anything is written.
    /// Return `false` to refuse: the command fails with `invalid_tenant` (exit 2) naming the
    /// tenant, and enqueues nothing (for a file: no line of it). `TenantID.system` is asked too.
    /// Default: `nil`, every valid tenant id is accepted.
    ///
    /// ```swift
    /// tenantRule: { tenant, opened in
    ///     tenant == .system || (try await Tenants(opened).exists(tenant))
    /// }
    /// ```
    public var tenantRule: (@Sendable (TenantID, OpenStore) async throws -> Bool)?

    /// - Parameters: see the properties; each has the default it states.
    public init(
        jobs: [any Job.Type] = [],
        queues: [String] = ["default"],
        schedules: [Schedule] = [],
        dependencies: @escaping @Sendable (OpenStore) async throws -> JobDependencies = { _ in JobDependencies() },
        defaultStore: String? = nil,
        includesDemoJobs: Bool = false,
        tenantRule: (@Sendable (TenantID, OpenStore) async throws -> Bool)? = nil
    ) {
        self.jobs = jobs
        self.queues = queues
        self.schedules = schedules
        self.dependencies = dependencies
        self.defaultStore = defaultStore
        self.includesDemoJobs = includesDemoJobs
        self.tenantRule = tenantRule
    }

    /// Refuses each of `tenants` that ``tenantRule`` does not accept (`invalid_tenant`), before
    /// a command writes anything; `context` says where the tenant came from.
    func admit(_ tenants: some Sequence<TenantID>, in opened: OpenStore, context: (TenantID) -> String) async throws {
        guard let tenantRule else { return }
        var asked = Set<TenantID>()
        for tenant in tenants where asked.insert(tenant).inserted {
            guard try await tenantRule(tenant, opened) else {
                throw SuretyError(.invalidTenant, "\(context(tenant)): the application does not accept tenant '\(tenant)' (its tenant rule refused it); nothing was enqueued")
            }
        }
    }

    /// The `surety` executable's application: no job types of its own, the demo types known
    /// (a worker runs them with `--demo-jobs`).
    public static let builtIn = SuretyApplication(includesDemoJobs: true)

    /// The application the commands of this task run for (set by ``SuretyCommand/run(_:arguments:)``).
    @TaskLocal static var current = SuretyApplication.builtIn

    /// Every type the commands know: the application's, and the demo types when included. What
    /// `enqueue` accepts and what `jobs show`, `dlq show` and the dashboard decode to redact.
    var knownRegistry: JobRegistry { JobRegistry(knownTypes) }

    var knownTypes: [any Job.Type] { includesDemoJobs ? jobs + DemoJobs.types : jobs }

    /// The application's own types, which `surety worker` runs without `--demo-jobs`.
    var registry: JobRegistry { JobRegistry(jobs) }
}
