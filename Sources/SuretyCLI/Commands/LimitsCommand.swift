import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety limits list|set|remove`: the per-queue flow-control limits, kept in the store so
/// every node enforces the same ones (docs/flow-control.md).
struct LimitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Show and change per-queue limits: concurrency, per-key concurrency, rates, fairness, maximum backlog.",
        discussion: """
            Limits live in the store, so every worker node enforces the same ones; a change applies \
            on other nodes within their refresh interval (1 second by default). See docs/flow-control.md.
            """,
        subcommands: [LimitsListCommand.self, LimitsSetCommand.self, LimitsRemoveCommand.self]
    )

    /// The store's flow-control capability, or a clear error.
    static func flowControl(_ store: any CommandStore, url: StoreURL) throws -> any FlowControlStore {
        guard let flow = store as? any FlowControlStore else {
            throw SuretyError(.invalidArgument, "the store \(url) does not support queue limits")
        }
        return flow
    }
}

/// `surety limits list`.
struct LimitsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every queue's limits with its running and waiting jobs.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: false) { opened in
            let limits = try await LimitsCommand.flowControl(opened.store, url: opened.url).queueLimits()
            let view = LimitsView(limits: limits, counts: try await opened.store.counts())
            Console.line(json ? view.json().rendered() : view.text(emptyMessage: "No queue has limits. Set some with `surety limits set QUEUE ...`."))
        }
    }
}

/// `surety limits set`.
struct LimitsSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set a queue's limits (replacing all of them: an option left out means no limit).",
        discussion: """
            Examples:
              surety limits set email --rate 10/s
              surety limits set ledger --per-key 1                  (ordered: one job per key at a time)
              surety limits set reports --concurrency 4 --per-key 1 --fair
              surety limits set imports --max-backlog 100000 --overflow drop-new
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The queue.")
    var queue: String

    @Option(name: .long, help: "At most this many jobs of the queue run at once, across all nodes.")
    var concurrency: Int?

    @Option(name: .customLong("per-key"), help: "At most this many jobs per partition key run at once; 1 runs each key's jobs one at a time in enqueue order.")
    var perKey: Int?

    @Option(name: .long, help: ArgumentHelp("A token bucket for the whole queue: COUNT/PERIOD such as 10/s, 100/min, 3/500ms.", valueName: "rate"))
    var rate: String?

    @Option(name: .long, help: "The queue bucket's size (how many may start at once after a quiet spell). Default: the rate's count.")
    var burst: Int?

    @Option(name: .customLong("rate-per-key"), help: ArgumentHelp("A token bucket per partition key: COUNT/PERIOD.", valueName: "rate"))
    var ratePerKey: String?

    @Option(name: .customLong("key-burst"), help: "Each key bucket's size. Default: the per-key rate's count.")
    var keyBurst: Int?

    @Flag(name: .long, help: "Claim round-robin across partition keys (tenant fairness).")
    var fair = false

    @Option(name: .customLong("max-backlog"), help: "The most jobs that may wait in the queue; past it enqueue follows --overflow.")
    var maxBacklog: Int?

    @Option(name: .long, help: "What enqueue does past --max-backlog: reject (throw queue_full, insert nothing) or drop-new (insert what fits, drop the rest).")
    var overflow: OverflowOption = .reject

    @Flag(name: .long, help: "Print the queue's new limits as JSON.")
    var json = false

    func validate() throws {
        if burst != nil && rate == nil { throw ValidationError("--burst needs --rate") }
        if keyBurst != nil && ratePerKey == nil { throw ValidationError("--key-burst needs --rate-per-key") }
    }

    func run() async throws {
        let limits = try QueueLimits(
            queue: queue, concurrency: concurrency, concurrencyPerKey: perKey,
            rate: try rate.map { try RateLimit(parsing: $0, burst: burst) },
            ratePerKey: try ratePerKey.map { try RateLimit(parsing: $0, burst: keyBurst) },
            fair: fair, maxBacklog: maxBacklog, overflow: overflow.policy
        )
        try await storeOptions.withStore(create: false) { opened in
            try await LimitsCommand.flowControl(opened.store, url: opened.url).setQueueLimits(limits)
            let view = LimitsView(limits: [limits], counts: try await opened.store.counts())
            Console.line(json ? view.json().rendered() : view.text(emptyMessage: ""))
        }
    }
}

/// `surety limits remove`.
struct LimitsRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a queue's limits (and its rate buckets).")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The queue.")
    var queue: String

    func run() async throws {
        let removed = try await storeOptions.withStore(create: false) { opened in
            try await LimitsCommand.flowControl(opened.store, url: opened.url).removeQueueLimits(queue: queue)
        }
        guard removed else { throw SuretyError(.notFound, "queue '\(queue)' has no limits") }
        Console.line("Removed the limits of queue '\(queue)'.")
    }
}

enum OverflowOption: String, ExpressibleByArgument, CaseIterable {
    case reject
    case dropNew = "drop-new"

    var policy: OverflowPolicy {
        switch self {
        case .reject: .reject
        case .dropNew: .dropNew
        }
    }
}

/// Limits as tables and JSON (`surety limits`, `surety stats`).
struct LimitsView {
    var limits: [QueueLimits]
    var running: [String: Int] = [:]
    var waiting: [String: Int] = [:]

    init(limits: [QueueLimits], counts: [JobCount]) {
        self.limits = limits.sorted { $0.queue < $1.queue }
        for count in counts {
            if count.state == .running { running[count.queue, default: 0] += count.count }
            if JobState.claimable.contains(count.state) { waiting[count.queue, default: 0] += count.count }
        }
    }

    /// The store's limits, or none when it does not keep limits.
    static func queueLimits(of store: any CommandStore) async throws -> [QueueLimits] {
        try await (store as? any FlowControlStore)?.queueLimits() ?? []
    }

    static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }

    static func rate(_ rate: RateLimit?) -> JSONValue {
        guard let rate else { return .null }
        return .object([
            "count": .int(Int64(rate.count)), "period_seconds": .double(Double(rate.periodMicros) / 1_000_000),
            "burst": .int(Int64(rate.burst)), "text": .string(rate.description),
        ])
    }

    func jsonObject() -> [String: JSONValue] {
        var queues: [String: JSONValue] = [:]
        for limit in limits {
            queues[limit.queue] = .object([
                "concurrency": Self.int(limit.concurrency),
                "concurrency_per_key": Self.int(limit.concurrencyPerKey),
                "rate": Self.rate(limit.rate),
                "rate_per_key": Self.rate(limit.ratePerKey),
                "fair": .bool(limit.fair),
                "max_backlog": Self.int(limit.maxBacklog),
                "overflow": .string(limit.overflow.rawValue),
                "running": .int(Int64(running[limit.queue] ?? 0)),
                "waiting": .int(Int64(waiting[limit.queue] ?? 0)),
            ])
        }
        return queues
    }

    func json() -> JSONValue { .object(["limits": .object(jsonObject())]) }

    func text(emptyMessage: String) -> String {
        guard !limits.isEmpty else { return emptyMessage }
        func text(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        let rows = limits.map { limit in
            [
                limit.queue,
                limit.concurrency.map { "\(running[limit.queue] ?? 0)/\($0)" } ?? "\(running[limit.queue] ?? 0)/-",
                text(limit.concurrencyPerKey) + (limit.isOrdered ? " (ordered)" : ""),
                limit.rate?.description ?? "-",
                limit.ratePerKey?.description ?? "-",
                limit.fair ? "yes" : "no",
                limit.maxBacklog.map { "\(waiting[limit.queue] ?? 0)/\($0) \(limit.overflow.rawValue)" } ?? "\(waiting[limit.queue] ?? 0)/-",
            ]
        }
        return Formatting.table(["QUEUE", "RUNNING/MAX", "PER KEY", "RATE", "RATE PER KEY", "FAIR", "WAITING/MAX BACKLOG"], rows)
    }
}
