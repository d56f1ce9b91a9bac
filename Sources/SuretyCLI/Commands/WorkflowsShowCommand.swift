import ArgumentParser
import Foundation
import Surety

/// `surety workflows show ID [--results] [--json]`.
struct WorkflowsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a workflow as one unit: its state and every step's state, job and dependencies.",
        discussion: """
            Step results are data the steps' jobs chose to hand on; they are printed only with \
            --results (otherwise only whether a step has one).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The workflow's id.")
    var id: Int64

    @Flag(name: .long, help: "Print each step's result too.")
    var results = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if id < 1 { throw ValidationError("workflow ids are positive integers") }
    }

    func run() async throws {
        let id = WorkflowID(id)
        let found = try await storeOptions.withStore(create: false) { open in
            try await open.workflowStore().workflow(id)
        }
        guard let workflow = found else {
            throw SuretyError(.notFound, "no workflow with id \(id); `surety workflows list` shows them")
        }
        if json {
            Console.line(WorkflowView.json(workflow, results: results).rendered())
            return
        }
        Console.line("workflow \(workflow.id) \(workflow.name)  tenant \(workflow.tenant)  \(workflow.state.rawValue)  steps done \(WorkflowView.progress(workflow))")
        Console.line("created \(Formatting.timestamp(workflow.createdAt))  finished \(Formatting.timestamp(workflow.finishedAt))\(workflow.uniqueKey.map { "  key \($0)" } ?? "")")
        if let note = workflow.note { Console.line("note: \(note)") }
        let rows = workflow.steps.map { step -> [String] in
            [
                step.name + (step.isCompensation ? " (compensation)" : ""), step.type, step.state.rawValue,
                step.jobID.map { "\($0)" } ?? "-", step.jobState?.rawValue ?? "-",
                step.parents.isEmpty ? "-" : step.parents.joined(separator: ","), step.result == nil ? "-" : "yes",
            ]
        }
        Console.line(Formatting.table(["STEP", "TYPE", "STATE", "JOB", "JOB STATE", "AFTER", "RESULT"], rows))
        if results {
            for step in workflow.steps {
                if let result = step.result { Console.line("\(step.name) result: \(result)") }
            }
        }
    }
}
