import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety workflows list|show|cancel`.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows",
        abstract: "List workflows, show one with its steps, cancel one.",
        discussion: "A workflow is a graph of steps, each a job with its own retries; see docs/workflows.md.",
        subcommands: [WorkflowsListCommand.self, WorkflowsShowCommand.self, WorkflowsCancelCommand.self]
    )
}

extension OpenStore {
    /// The store as a ``Surety/WorkflowStore`` (every built-in store is one).
    func workflowStore() throws -> any WorkflowStore {
        guard let store = store as? any WorkflowStore else {
            throw SuretyError(.invalidArgument, "\(url) does not keep workflows")
        }
        return store
    }
}

enum WorkflowView {
    /// `running 3/5 steps completed` style progress.
    static func progress(_ workflow: WorkflowRecord) -> String {
        let steps = workflow.steps.filter { !$0.isCompensation }
        return "\(steps.filter { $0.state == .completed }.count)/\(steps.count)"
    }

    static func json(_ workflow: WorkflowRecord, results: Bool) -> JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(Formatting.timestamp($0)) } ?? .null }
        return .object([
            "id": .int(workflow.id.rawValue), "name": .string(workflow.name), "tenant": .string(workflow.tenant.rawValue),
            "state": .string(workflow.state.rawValue), "unique_key": workflow.uniqueKey.map(JSONValue.string) ?? .null,
            "created_at": time(workflow.createdAt), "finished_at": time(workflow.finishedAt),
            "note": workflow.note.map(JSONValue.string) ?? .null,
            "steps": .array(workflow.steps.map { step in
                var fields: [String: JSONValue] = [
                    "name": .string(step.name), "type": .string(step.type), "queue": .string(step.queue),
                    "after": .array(step.parents.map(JSONValue.string)), "compensation": .bool(step.isCompensation),
                    "state": .string(step.state.rawValue), "job_id": step.jobID.map { .int($0.rawValue) } ?? .null,
                    "job_state": step.jobState.map { .string($0.rawValue) } ?? .null, "finished_at": time(step.finishedAt),
                    "has_result": .bool(step.result != nil),
                ]
                if results { fields["result"] = step.result.map(JSONValue.parse) ?? .null }
                return .object(fields)
            }),
        ])
    }
}
