import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety workflows list [--state S] [--tenant T] [--name N] [--limit N] [--before-id ID] [--json]`.
struct WorkflowsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List workflows, newest first.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("Only workflows in this state: running, completed, failed, cancelled (repeatable).", valueName: "state"))
    var state: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only workflows of this tenant (repeatable).", valueName: "tenant"))
    var tenant: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only workflows of this name.", valueName: "name"))
    var name: String?

    @Option(name: .long, help: "At most this many (1 to 1000).")
    var limit = 50

    @Option(name: .customLong("before-id"), help: ArgumentHelp("Only workflows with an id below this one (the next page: pass the last id shown).", valueName: "id"))
    var beforeID: Int64?

    @Flag(name: .long, help: "Print the result as JSON (an array of workflows with their steps).")
    var json = false

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        if let beforeID, beforeID < 1 { throw ValidationError("--before-id must be a positive workflow id") }
        for value in state where WorkflowState(rawValue: value) == nil {
            throw ValidationError("--state: unknown state '\(value)'; use one of \(WorkflowState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for value in tenant {
            do { _ = try TenantID(value) } catch let error as SuretyError { throw ValidationError("--tenant: \(error.message)") }
        }
    }

    func run() async throws {
        let filter = WorkflowFilter(
            states: state.compactMap(WorkflowState.init(rawValue:)), tenants: try tenant.map { try TenantID($0) }, name: name,
            beforeID: beforeID.map(WorkflowID.init(rawValue:)), limit: limit
        )
        let workflows = try await storeOptions.withStore(create: false) { open in
            try await open.workflowStore().workflows(filter)
        }
        if json {
            Console.line(JSONValue.array(workflows.map { WorkflowView.json($0, results: false) }).rendered())
            return
        }
        guard !workflows.isEmpty else {
            Console.line("no workflows")
            return
        }
        let rows = workflows.map { w in
            [w.id.description, w.name, w.tenant.rawValue, w.state.rawValue, WorkflowView.progress(w), Formatting.timestamp(w.createdAt), Formatting.timestamp(w.finishedAt)]
        }
        Console.line(Formatting.table(["ID", "NAME", "TENANT", "STATE", "STEPS DONE", "CREATED", "FINISHED"], rows))
        if workflows.count >= limit, let last = workflows.last {
            Console.line("(showing \(workflows.count); next page: --before-id \(last.id))")
        }
    }
}
