import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety schedules list|pause|resume`.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "List recurring schedules with their next runs; pause and resume them.",
        subcommands: [SchedulesListCommand.self, SchedulesPauseCommand.self, SchedulesResumeCommand.self]
    )
}

/// `surety schedules list`: every schedule with its state, last slot and next runs.
struct SchedulesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List schedules with their next runs.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "How many next runs to show per schedule.")
    var next = 3

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard (0...100).contains(next) else { throw ValidationError("--next must be between 0 and 100") }
    }

    func run() async throws {
        let records = try await storeOptions.withStore(create: false) { try await ScheduleChangeOptions.scheduleStore($0).schedules() }
        let now = Date()
        if json {
            Console.line(JSONValue.array(records.map { ScheduleView.json($0, next: $0.paused ? [] : $0.nextRuns(after: now, count: next)) }).rendered())
            return
        }
        guard !records.isEmpty else {
            Console.line("no schedules (a Scheduler registers them when it starts)")
            return
        }
        let rows = records.map { record -> [String] in
            let d = record.definition
            let runs = record.paused ? "paused" : record.nextRuns(after: now, count: next).map(Formatting.timestamp).joined(separator: ", ")
            return [d.name, d.expression, d.timeZone, d.jobType, d.overlap, d.missed, Formatting.timestamp(record.lastSlot), runs]
        }
        Console.line(Formatting.table(["NAME", "CRON", "ZONE", "TYPE", "OVERLAP", "MISSED", "LAST SLOT", "NEXT RUNS"], rows))
        for record in records where record.paused {
            Console.line("\(record.definition.name): paused by \(record.changedBy ?? "?") at \(Formatting.timestamp(record.changedAt)): \(record.changeReason ?? "")")
        }
    }
}

/// `surety schedules pause NAME --by --reason`.
struct SchedulesPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a schedule: its slots enqueue nothing until resumed (and are not run on resume).")
    @OptionGroup var change: ScheduleChangeOptions
    func run() async throws { try await change.apply(paused: true) }
}

/// `surety schedules resume NAME --by --reason`.
struct SchedulesResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused schedule from its next slot.")
    @OptionGroup var change: ScheduleChangeOptions
    func run() async throws { try await change.apply(paused: false) }
}

struct ScheduleChangeOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The schedule's name.")
    var name: String

    @Option(name: .long, help: ArgumentHelp("Who is acting (kept on the schedule).", valueName: "who"))
    var by: String

    @Option(name: .long, help: ArgumentHelp("Why (kept on the schedule).", valueName: "text"))
    var reason: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--by must name who is acting") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must say why") }
    }

    /// The store's schedule capability, or a clear error.
    static func scheduleStore(_ opened: OpenStore) throws -> any ScheduleStore {
        guard let schedules = opened.store as? any ScheduleStore else {
            throw SuretyError(.invalidArgument, "the store \(opened.url) does not keep schedules")
        }
        return schedules
    }

    func apply(paused: Bool) async throws {
        let action = try OperatorAction(actor: by, reason: reason, at: Date())
        let changed = try await storeOptions.withStore(create: false) { opened in
            try await Self.scheduleStore(opened).setSchedulePaused(name, paused: paused, action: action)
        }
        guard let record = changed else {
            throw SuretyError(.notFound, "no schedule named '\(name)'; `surety schedules list` shows them")
        }
        if json {
            Console.line(ScheduleView.json(record, next: paused ? [] : record.nextRuns(after: Date(), count: 3)).rendered())
        } else {
            let next = record.nextRuns(after: Date(), count: 1).first.map { " next run \(Formatting.timestamp($0))" } ?? ""
            Console.line("\(paused ? "paused" : "resumed") schedule \(name)\(paused ? "" : ";" + next)")
        }
    }
}

enum ScheduleView {
    static func json(_ record: ScheduleRecord, next: [Date]) -> JSONValue {
        let d = record.definition
        func time(_ date: Date?) -> JSONValue { date.map { .string(Formatting.timestamp($0)) } ?? .null }
        return .object([
            "name": .string(d.name), "cron": .string(d.expression), "time_zone": .string(d.timeZone),
            "job_type": .string(d.jobType), "queue": .string(d.queue), "tenant": .string(d.tenant.rawValue),
            "overlap": .string(d.overlap), "missed": .string(d.missed), "paused": .bool(record.paused),
            "changed_by": record.changedBy.map(JSONValue.string) ?? .null, "change_reason": record.changeReason.map(JSONValue.string) ?? .null,
            "changed_at": time(record.changedAt), "last_slot": time(record.lastSlot),
            "last_job_id": record.lastJobID.map { .int($0.rawValue) } ?? .null,
            "next_runs": .array(next.map { .string(Formatting.timestamp($0)) }),
        ])
    }
}
