import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety jobs cancel ID... --by WHO --reason TEXT`: cancels waiting jobs at once and asks running
/// ones to stop (their worker cancels them at its next heartbeat). Audited.
struct JobsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs: waiting ones at once, running ones at their worker's next heartbeat.",
        discussion: """
            A running job's task is cancelled cooperatively: its attempt is recorded `cancelled` and \
            the job ends `cancelled`. Finished jobs are skipped. Every action writes an audit row \
            with who and why. Exit code 1 when a job was skipped.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Job ids.")
    var ids: [Int64]

    @Option(name: .long, help: ArgumentHelp("Who is acting (recorded in the audit table).", valueName: "who"))
    var by: String

    @Option(name: .long, help: ArgumentHelp("Why (recorded in the audit table and as the job's note).", valueName: "text"))
    var reason: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("name at least one job id") }
        if ids.contains(where: { $0 < 1 }) { throw ValidationError("job ids are positive integers") }
        if by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--by must name who is acting") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must say why") }
    }

    func run() async throws {
        let result = try await storeOptions.withStore(create: false) { opened in
            try await JobQueue(store: opened.store).requestCancellation(ids.map { JobID($0) }, by: by, reason: reason)
        }
        if json {
            let value = JSONValue.object([
                "cancelled": .array(result.cancelled.map { .int($0.rawValue) }),
                "requested": .array(result.requested.map { .int($0.rawValue) }),
                "skipped": .array(result.skipped.map { .object(["id": .int($0.id.rawValue), "reason": .string($0.reason)]) }),
            ])
            Console.line(value.rendered())
        } else {
            for id in result.cancelled { Console.line("cancelled job \(id)") }
            for id in result.requested { Console.line("cancel requested for running job \(id) (its worker stops it at its next heartbeat)") }
            for skip in result.skipped { Console.line("skipped job \(skip.id): \(skip.reason)") }
        }
        if !result.skipped.isEmpty { throw CLIError("", exitCode: ExitCodes.failure) }
    }
}
