import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety workflows cancel ID --by WHO --reason TEXT`.
struct WorkflowsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a running workflow: waiting steps never run, running steps stop at their worker's next heartbeat.",
        discussion: """
            Waiting step jobs are cancelled at once; running ones are cancelled cooperatively (their \
            attempt is recorded `cancelled`). Compensation steps do not run. Every job touched gets an \
            audit row with who and why. Exit code 1 when the workflow had already finished.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The workflow's id.")
    var id: Int64

    @Option(name: .long, help: ArgumentHelp("Who is acting (recorded in the audit table).", valueName: "who"))
    var by: String

    @Option(name: .long, help: ArgumentHelp("Why (recorded in the audit table and as the workflow's note).", valueName: "text"))
    var reason: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if id < 1 { throw ValidationError("workflow ids are positive integers") }
        if by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--by must name who is acting") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must say why") }
    }

    func run() async throws {
        let id = WorkflowID(id)
        let result = try await storeOptions.withStore(create: false) { open in
            _ = try open.workflowStore()
            return try await JobQueue(store: open.store).cancelWorkflow(id, by: by, reason: reason)
        }
        if json {
            Console.line(JSONValue.object([
                "workflow": .int(result.workflow.rawValue), "cancelled": .bool(result.cancelled),
                "skipped_reason": result.skippedReason.map(JSONValue.string) ?? .null,
                "jobs_cancelled": .array(result.jobs.cancelled.map { .int($0.rawValue) }),
                "jobs_requested": .array(result.jobs.requested.map { .int($0.rawValue) }),
            ]).rendered())
        } else if result.cancelled {
            Console.line("cancelled workflow \(id)")
            for job in result.jobs.cancelled { Console.line("cancelled step job \(job)") }
            for job in result.jobs.requested { Console.line("cancel requested for running step job \(job) (its worker stops it at its next heartbeat)") }
        } else {
            Console.line("skipped workflow \(id): \(result.skippedReason ?? "already finished")")
        }
        if !result.cancelled { throw CLIError("", exitCode: ExitCodes.failure) }
    }
}
