import ArgumentParser
import Foundation
import Surety
import SuretySQLite

/// Which jobs an operator action applies to, who acts and why.
struct BulkTargetOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Job ids. Or use --all-matching with filters.")
    var ids: [Int64] = []

    @Flag(name: .customLong("all-matching"), help: "Act on every dead job matching the filters (all of the inbox when no filter is given).")
    var allMatching = false

    @OptionGroup var filters: FilterOptions

    @Option(name: .customLong("dead-reason"), help: ArgumentHelp("With --all-matching: only jobs with this dead reason.", valueName: "reason"))
    var deadReason: String?

    @Option(name: .long, help: ArgumentHelp("Who is acting (recorded in the audit table).", valueName: "who"))
    var by: String

    @Option(name: .long, help: ArgumentHelp("Why (recorded in the audit table; a discard's note).", valueName: "text"))
    var reason: String

    @Flag(name: .customLong("dry-run"), help: "Show what would change; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if ids.isEmpty && !allMatching { throw ValidationError("name job ids, or pass --all-matching with filters") }
        if !ids.isEmpty && allMatching { throw ValidationError("pass either job ids or --all-matching, not both") }
        if !allMatching && (!filters.isEmpty || deadReason != nil) {
            throw ValidationError("filters apply with --all-matching only")
        }
        if ids.contains(where: { $0 < 1 }) { throw ValidationError("job ids are positive integers") }
        _ = try StateParser.parseDeadReason(deadReason)
        if by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--by must name who is acting") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must say why") }
    }
}

/// `dlq requeue` and `dlq discard`: select, pre-check, act (or predict), report.
enum BulkAction: String {
    case requeue
    case discard

    var pastTense: String { self == .requeue ? "requeued" : "discarded" }

    /// The states the store accepts for this action.
    var allowedStates: [JobState] { self == .requeue ? [.dead, .cancelled] : [.dead] }

    static func run(_ action: BulkAction, target: BulkTargetOptions, force: Bool) async throws {
        try await target.storeOptions.withStore(create: false) { try await run(action, target: target, force: force, opened: $0) }
    }

    static func run(_ action: BulkAction, target: BulkTargetOptions, force: Bool, opened: OpenStore) async throws {
        let store = opened.store
        let operatorAction = try OperatorAction(actor: target.by, reason: target.reason, at: Date())

        // Select.
        var records: [JobRecord] = []
        var skipped: [BulkResult.Skipped] = []
        if target.allMatching {
            var before: JobID?
            while true {
                let page = try await store.jobs(target.filters.filter(
                    states: [.dead], deadReason: StateParser.parseDeadReason(target.deadReason), beforeID: before, limit: 500
                ))
                records += page
                guard page.count == 500, let last = page.last else { break }
                before = last.id
            }
        } else {
            var seen = Set<Int64>()
            for raw in target.ids where seen.insert(raw).inserted {
                if let record = try await store.job(JobID(raw)) {
                    records.append(record)
                } else {
                    skipped.append(.init(id: JobID(raw), reason: "no such job"))
                }
            }
        }

        // Pre-check what the CLI refuses, and predict for a dry run.
        var candidates: [JobRecord] = []
        for record in records {
            if action == .requeue, record.state == .dead, record.deadReason == .undecodablePayload, !force {
                skipped.append(.init(id: record.id, reason: "dead reason is undecodable_payload: its payload will not decode next time either; fix the job type, or pass --force to requeue it anyway"))
            } else if target.dryRun, !action.allowedStates.contains(record.state) {
                let allowed = action.allowedStates.map(\.rawValue).joined(separator: " or ")
                skipped.append(.init(id: record.id, reason: "state \(record.state.rawValue): only \(allowed) jobs can be \(action.pastTense)"))
            } else {
                candidates.append(record)
            }
        }

        // Act.
        var changed: [JobID] = []
        if target.dryRun {
            changed = candidates.map(\.id)
        } else if !candidates.isEmpty {
            let ids = candidates.map(\.id)
            let result = action == .requeue
                ? try await store.requeue(ids, action: operatorAction)
                : try await store.discard(ids, action: operatorAction)
            changed = result.changed
            skipped += result.skipped
        }
        skipped.sort { $0.id < $1.id }
        changed.sort()

        // Report.
        if target.json {
            Console.line(JSONValue.object([
                "action": .string(action.rawValue),
                "dry_run": .bool(target.dryRun),
                "by": .string(operatorAction.actor),
                "reason": .string(operatorAction.reason),
                "matched": .int(records.count),
                "changed": .array(changed.map { .int($0.rawValue) }),
                "skipped": .array(skipped.map { .object(["id": .int($0.id.rawValue), "reason": .string($0.reason)]) }),
            ]).rendered())
        } else {
            let verb = target.dryRun ? "would be \(action.pastTense)" : action.pastTense
            if changed.isEmpty {
                Console.line("no jobs \(verb)")
            } else {
                let list = changed.map(\.description).joined(separator: ", ")
                Console.line("\(Formatting.count(changed.count, "job")) \(verb) by \(operatorAction.actor) (\"\(operatorAction.reason)\"): \(list)")
            }
            if !skipped.isEmpty {
                Console.line("skipped \(skipped.count):")
                Console.line(Formatting.table(["ID", "WHY"], skipped.map { ["\($0.id)", $0.reason] }, indent: "  "))
            }
            if target.dryRun { Console.line("dry run: nothing was changed") }
        }
        if !target.dryRun, !target.allMatching, !skipped.isEmpty {
            throw CLIError("\(skipped.count) of \(Set(target.ids).count) named jobs were not \(action.pastTense) (see skipped)")
        }
    }
}
