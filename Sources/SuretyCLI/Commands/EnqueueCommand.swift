import ArgumentParser
import Foundation
import Surety
import SuretySQLite
import SuretyViews

/// `surety enqueue`: one job of a registered (demo) type, through `JobQueue.enqueue(type:payload:…)`,
/// or every job of a file of JSON lines (`--file`, EnqueueFile.swift).
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue one job by type name with a JSON payload, or many from a file of JSON lines.",
        discussion: """
            The type must be one the application registered (the `surety` executable knows the \
            demo types: \(DemoJobs.registry.names.joined(separator: ", "))). The payload must decode as the type; an unknown type or a bad payload inserts nothing. \
            A tenant is required: pass --tenant T, or --system for work that belongs to no tenant.

            --file FILE enqueues one job per line, each a JSON object: \(EnqueueFile.lineFormat) \
            Every line is checked before any is enqueued: one bad line inserts nothing and names \
            the line. Lines are enqueued --concurrency at a time (they share group commits); with \
            --json each acknowledged line is printed as {"line", "id", "inserted"} as it is \
            acknowledged. Rerunning a file whose lines carry unique keys with scope "forever" \
            enqueues nothing twice.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("The job type, for example demo.email.", valueName: "name"))
    var type: String?

    @Option(name: .long, help: ArgumentHelp("The payload as a JSON object.", valueName: "json"))
    var payload: String?

    @Option(name: .long, help: ArgumentHelp("Enqueue every line of this file of JSON lines instead (see above).", valueName: "path"))
    var file: String?

    @Option(name: .long, help: "With --file: how many enqueues are in flight at once (1 to 256).")
    var concurrency: Int = 8

    /// Used by `surety prove` for its enqueuer process: the prove job types.
    @Flag(name: .customLong("prove-jobs"), help: .hidden)
    var proveJobs = false

    var registry: JobRegistry { proveJobs ? ProveJobs.registry : SuretyApplication.current.knownRegistry }

    @Option(name: .long, help: ArgumentHelp("The tenant the job belongs to.", valueName: "tenant"))
    var tenant: String?

    @Flag(name: .long, help: "The job belongs to no tenant (TenantID.system): an explicit choice.")
    var system = false

    @Option(name: .long, help: ArgumentHelp("A unique key: while a job of this tenant holds it, enqueueing again returns that job.", valueName: "key"))
    var key: String?

    @Option(name: .customLong("partition-key"), help: ArgumentHelp("The job's partition key for per-key limits, ordering and fairness (see `surety limits`).", valueName: "key"))
    var partitionKey: String?

    @Option(name: .long, help: ArgumentHelp("Override the type's queue.", valueName: "queue"))
    var queue: String?

    @Option(name: .long, help: ArgumentHelp("Override the type's priority: 0 (most urgent) to 9.", valueName: "priority"))
    var priority: Int?

    @Option(name: .customLong("max-attempts"), help: ArgumentHelp("Override the type's maximum attempts.", valueName: "n"))
    var maxAttempts: Int?

    @Option(name: .customLong("run-at"), help: ArgumentHelp("Run no earlier than this ISO 8601 time, for example 2030-01-31T09:00:00Z.", valueName: "time"))
    var runAt: String?

    @Option(name: .long, help: ArgumentHelp("Run no earlier than this many seconds from now (at most 3155760000, 100 years).", valueName: "seconds"))
    var delay: Double?

    @Option(name: .long, help: ArgumentHelp("A tag stored with the job (repeatable).", valueName: "tag"))
    var tag: [String] = []

    @Option(name: .long, help: ArgumentHelp("A correlation id as key=value (repeatable).", valueName: "key=value"))
    var correlation: [String] = []

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if file != nil {
            let single = [type, payload, tenant, key, partitionKey, queue, runAt].contains { $0 != nil }
                || priority != nil || maxAttempts != nil || delay != nil || system || !tag.isEmpty || !correlation.isEmpty
            if single { throw ValidationError("--file takes every job's fields from its lines; pass no other job option with it") }
            guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256") }
            return
        }
        guard type != nil, payload != nil else { throw ValidationError("pass --type and --payload, or --file") }
        switch (tenant, system) {
        case (nil, false): throw ValidationError("a tenant is required: pass --tenant T, or --system for work that belongs to no tenant")
        case (.some, true): throw ValidationError("pass either --tenant or --system, not both")
        default: break
        }
        if let tenant {
            do { _ = try TenantID(tenant) } catch let error as SuretyError { throw ValidationError("--tenant: \(error.message)") }
        }
        if let priority, !(0...9).contains(priority) {
            throw ValidationError("--priority must be between 0 (most urgent) and 9, got \(priority)")
        }
        if let maxAttempts, maxAttempts < 1 { throw ValidationError("--max-attempts must be at least 1") }
        if runAt != nil, delay != nil { throw ValidationError("pass either --run-at or --delay, not both") }
        if let delay { _ = try TimeArguments.seconds(delay, option: "--delay", minimum: 0) }
        if let runAt, Self.parseDate(runAt) == nil {
            throw ValidationError("--run-at '\(runAt)' is not an ISO 8601 time such as 2030-01-31T09:00:00Z")
        }
        _ = try CorrelationParser.parse(correlation)
    }

    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }

    func run() async throws {
        if let file {
            return try await EnqueueFile.run(path: file, registry: registry, concurrency: concurrency, json: json, storeOptions: storeOptions)
        }
        guard let type, let payload else { throw ValidationError("pass --type and --payload, or --file") }
        let tenantID = system ? TenantID.system : try TenantID(tenant ?? "")
        let options = EnqueueOptions(
            runAt: runAt.flatMap(Self.parseDate), delay: delay.map { Duration.interval($0) }, uniqueKey: key,
            queue: queue, priority: priority, maxAttempts: maxAttempts, tags: tag,
            correlation: try CorrelationParser.parse(correlation), partitionKey: partitionKey
        )
        // Check the type, payload and options against a scratch memory store first, so a typo
        // creates no file and inserts nothing.
        _ = try await JobQueue(store: MemoryStore(), registry: registry, logger: Logs.silent("surety.queue"))
            .enqueue(type: type, payload: payload, tenant: tenantID, options: options)
        try await storeOptions.withStore(create: true) { opened in
            try await SuretyApplication.current.admit([tenantID], in: opened) { _ in "--tenant" }
            try await enqueue(type: type, payload: payload, tenant: tenantID, options: options, opened: opened)
        }
    }

    func enqueue(type: String, payload: String, tenant tenantID: TenantID, options: EnqueueOptions, opened: OpenStore) async throws {
        let (store, url) = (opened.store, opened.url)
        let client = JobQueue(store: store, registry: registry, logger: Logs.silent("surety.queue"))
        let enqueued = try await client.enqueue(type: type, payload: payload, tenant: tenantID, options: options)
        let record = try await store.job(enqueued.id)
        let views = Views(registry: registry)
        if json {
            Console.line(JSONValue.object([
                "id": .int(enqueued.id.rawValue),
                "inserted": .bool(enqueued.inserted),
                "store": .string(url.description),
                "job": record.map { views.json($0) } ?? .null,
            ]).rendered())
        } else if enqueued.inserted {
            let when = record.map { $0.state == .scheduled ? "scheduled for \(Formatting.timestamp($0.runAt))" : "available now" } ?? ""
            Console.line("enqueued job \(enqueued.id) (\(type), tenant \(tenantID), queue \(record?.queue ?? "?")): \(when)")
        } else {
            Console.line("not inserted: unique key '\(key ?? "")' is held by job \(enqueued.id) (state \(record?.state.rawValue ?? "?")); returned that job")
        }
    }
}
