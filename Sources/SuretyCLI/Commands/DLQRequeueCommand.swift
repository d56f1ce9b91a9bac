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
            time either). Exit code 1 when a job named by id was skipped.
            """
    )

    @OptionGroup var target: BulkTargetOptions

    @Flag(name: .long, help: "Also requeue jobs whose dead reason is undecodable_payload.")
    var force = false

    func run() async throws {
        try await BulkAction.run(.requeue, target: target, force: force)
    }
}
