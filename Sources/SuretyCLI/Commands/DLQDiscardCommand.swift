import ArgumentParser
import Foundation
import Surety
import SuretySQLite

/// `surety dlq discard`: dead jobs to `cancelled` as "won't retry", with the reason as a note.
struct DLQDiscardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discard",
        abstract: "Discard dead jobs as \"won't retry\" with a note; records who, why and when.",
        discussion: "Name jobs by id, or select them with --all-matching and filters. Exit code 1 when a job named by id was skipped."
    )

    @OptionGroup var target: BulkTargetOptions

    func run() async throws {
        try await BulkAction.run(.discard, target: target, force: false)
    }
}
