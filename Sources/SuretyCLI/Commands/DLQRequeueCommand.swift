import ArgumentParser
import Foundation
import Surety
import SuretySQLite

/// `surety dlq requeue`: dead (or discarded) jobs back to `available`, attempts reset, audited.
struct DLQRequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Requeue dead jobs: back to available now with attempts reset; records who, why and when.",
        discussion: """
            Name jobs by id, or select them with --all-matching and filters. Jobs whose dead reason \
            is undecodable_payload are refused unless --force (their payload will not decode next \
            time either). With --release-rate N/s the jobs are requeued at once (and audited now) \
            but become claimable at most N per second: each batch is scheduled a little later than \
            the one before, so a recovering provider is not flooded. Exit code 1 when a job named \
            by id was skipped.
            """
    )

    @OptionGroup var target: BulkTargetOptions

    @Flag(name: .long, help: "Also requeue jobs whose dead reason is undecodable_payload.")
    var force = false

    @Option(name: .customLong("release-rate"), help: ArgumentHelp("Make the requeued jobs claimable at most this fast: N/s or N/m, for example 10/s. Default: all at once.", valueName: "rate"))
    var releaseRate: String?

    func validate() throws {
        _ = try releaseRate.map(ReleaseRate.init(parsing:))
    }

    func run() async throws {
        try await BulkAction.run(.requeue, target: target, force: force, releaseRate: releaseRate.map(ReleaseRate.init(parsing:)))
    }
}
