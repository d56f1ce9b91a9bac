import ArgumentParser
import Foundation
import Surety
import SuretySQLite
import SuretyViews

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

    @Option(name: .customLong("batch-size"), help: "How many jobs one store transaction changes (1 to 10000).")
    var batchSize: Int = 200

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
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 10000, got \(batchSize)") }
    }
}

/// `dlq requeue` and `dlq discard`: select, pre-check, act (or predict), report.
enum BulkAction: String {
    case requeue
    case discard

    var pastTense: String { self == .requeue ? "requeued" : "discarded" }

    /// The states the store accepts for this action.
    var allowedStates: [JobState] { self == .requeue ? [.dead, .cancelled] : [.dead] }

    static func run(_ action: BulkAction, target: BulkTargetOptions, force: Bool, releaseRate: ReleaseRate? = nil) async throws {
        try await target.storeOptions.withStore(create: false) {
            try await run(action, target: target, force: force, releaseRate: releaseRate, opened: $0)
        }
    }

    static func run(_ action: BulkAction, target: BulkTargetOptions, force: Bool, releaseRate: ReleaseRate?, opened: OpenStore) async throws {
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

        // Act, in batches: each is one short store transaction. With a release rate, batch k of
        // a requeue becomes claimable at start + k * (batch / rate), so at most `rate` jobs a
        // second are released — the store's scheduler does the pacing, no process has to wait.
        var changed: [JobID] = []
        let batch = releaseRate.map { max(1, min(target.batchSize, Int($0.perSecond.rounded(.down)))) } ?? target.batchSize
        let batches = stride(from: 0, to: candidates.count, by: batch).map { Array(candidates[$0..<min($0 + batch, candidates.count)]) }
        var lastRelease: Date?
        if let releaseRate, !batches.isEmpty {
            lastRelease = releaseRate.releaseTime(of: (batches.count - 1) * batch, from: operatorAction.at)
        }
        if target.dryRun {
            changed = candidates.map(\.id)
        } else if !candidates.isEmpty {
            let progress = ProgressBar(total: candidates.count, label: action.pastTense, json: target.json)
            var done = 0
            progress.update(0)
            for (index, group) in batches.enumerated() {
                var step = operatorAction
                if let releaseRate { step.releaseAt = releaseRate.releaseTime(of: index * batch, from: operatorAction.at) }
                let ids = group.map(\.id)
                let result = action == .requeue
                    ? try await store.requeue(ids, action: step)
                    : try await store.discard(ids, action: step)
                changed += result.changed
                skipped += result.skipped
                done += group.count
                progress.update(done)
            }
            progress.finish()
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
                "release_rate_per_second": releaseRate.map { .double($0.perSecond) } ?? .null,
                "released_by": .date(lastRelease),
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
            if let releaseRate, let lastRelease, !changed.isEmpty {
                let rate = releaseRate.perSecond >= 1 ? "\(Formatting.number(releaseRate.perSecond))/s" : "\(Formatting.number(releaseRate.perSecond * 60))/min"
                Console.line("released at most \(rate): the last \(target.dryRun ? "would become" : "becomes") claimable at \(Formatting.timestamp(lastRelease))")
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
