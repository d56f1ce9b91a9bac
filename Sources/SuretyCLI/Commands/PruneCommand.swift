import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety prune`: one retention pass now (workers run one every few minutes on their own).
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished jobs past their retention age, in small batches; --dry-run counts them.",
        discussion: """
            Completed, cancelled and dead jobs older than their age (counted from when they \
            finished) are deleted with their attempt history and effect rows; audit rows are kept \
            until --keep-audit after their job is gone. Each batch is one short transaction, so \
            running workers keep claiming. `surety worker` runs the same pass every \
            --retention-interval unless --no-retention.
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var retention: RetentionOptions

    @Flag(name: .customLong("dry-run"), help: "Count what would be deleted; delete nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(store: $0.store, url: $0.url) }
    }

    private func run(store: any CommandStore, url: StoreURL) async throws {
        let policy = try retention.policy(interval: .seconds(300))
        let service = RetentionService(store: store, policy: policy)
        let report: RetentionReport
        if dryRun {
            report = try await service.preview()
        } else {
            guard let done = try await service.pruneOnce() else {
                Console.line("another node is running retention now; nothing was pruned by this command")
                return
            }
            report = done
        }
        if json {
            Console.line(JSONValue.object([
                "store": .string(url.description),
                "dry_run": .bool(dryRun),
                "completed": .int(report.completed),
                "cancelled": .int(report.cancelled),
                "dead": .int(report.dead),
                "audit": .int(report.audit),
                "keep": .object([
                    "completed": .string(TimeArguments.describe(policy.completed)),
                    "cancelled": .string(TimeArguments.describe(policy.cancelled)),
                    "dead": .string(TimeArguments.describe(policy.dead)),
                    "audit": .string(TimeArguments.describe(policy.audit)),
                ]),
            ]).rendered())
            return
        }
        let verb = dryRun ? "would be pruned" : "pruned"
        Console.line(Formatting.table(["WHAT", "KEPT FOR", dryRun ? "WOULD PRUNE" : "PRUNED"], [
            ["completed jobs", TimeArguments.describe(policy.completed), "\(report.completed)"],
            ["cancelled jobs", TimeArguments.describe(policy.cancelled), "\(report.cancelled)"],
            ["dead jobs", TimeArguments.describe(policy.dead), "\(report.dead)"],
            ["audit rows of gone jobs", TimeArguments.describe(policy.audit), "\(report.audit)"],
        ]))
        Console.line("\(Formatting.count(report.jobs, "job")) and \(Formatting.count(report.audit, "audit row")) \(verb)\(dryRun ? "; dry run: nothing was deleted" : "")")
    }
}
