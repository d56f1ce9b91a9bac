// docs/workflows.md's worked example, as a program that builds in CI.
// Run it: swift run WorkflowExample [--fail]   (runs one workflow to its end with a worker, prints it)
//
// generate report ──► process assets: thumbnails ─┐
//                 ├─► process assets: charts ─────┼─► upload results ──► notify user
//                 └─► process assets: tables ─────┘
// compensation (only if a step dies): discard the partial report
import Foundation
import Logging
import ServiceLifecycle
import Surety
import SuretySQLite

/// Where a step's output went, handed to the steps after it.
struct Artifact: Codable, Sendable {
    var location: String
}

struct GenerateReport: Job {
    static let name = "reports.generate"
    static let options = JobOptions(queue: "reports", maxAttempts: 3, backoff: .constant(.milliseconds(200)))
    var userID: String
    var month: String

    func run(_ context: JobContext) async throws {
        context.logger.info("generating report", metadata: ["month": "\(month)"])
        try await context.setStepResult(Artifact(location: "tmp/\(userID)/\(month)/report.pdf"))
    }
}

struct ProcessAssets: Job {
    static let name = "reports.process-assets"
    static let options = JobOptions(queue: "reports", maxAttempts: 3, backoff: .constant(.milliseconds(200)))
    var kind: String
    /// For the example: fail permanently, to show the compensation.
    var failPermanently = false

    func run(_ context: JobContext) async throws {
        guard let report = try await context.stepResult("generate", as: Artifact.self) else {
            throw PermanentFailure("the report step left no result")
        }
        // A transient failure on the first attempt: this step retries alone.
        if context.attempt == 1 && kind == "charts" { throw URLError(.timedOut) }
        if failPermanently { throw PermanentFailure("cannot render \(kind)") }
        try await context.setStepResult(Artifact(location: report.location + ".\(kind)"))
    }
}

struct UploadResults: Job {
    static let name = "reports.upload"
    static let options = JobOptions(queue: "reports", maxAttempts: 5)

    func run(_ context: JobContext) async throws {
        // Fan-in: runs only once every asset step completed; reads all their results.
        let parts = try await context.parentResults()
        let key = context.idempotencyKey("upload")
        context.logger.info("uploading", metadata: ["parts": "\(parts.keys.sorted())", "idempotency_key": "\(key)"])
        try await context.setStepResult(Artifact(location: "s3://reports/\(context.tenant)/\(context.id)"))
    }
}

struct NotifyUser: Job {
    static let name = "reports.notify"
    static let options = JobOptions(queue: "reports", maxAttempts: 5)
    var userID: String

    func run(_ context: JobContext) async throws {
        let upload = try await context.stepResult("upload", as: Artifact.self)
        context.logger.info("notifying user", metadata: ["user_id": "\(userID)", "link": "\(upload?.location ?? "-")"])
    }
}

struct DiscardPartialReport: Job {
    static let name = "reports.discard-partial"
    static let options = JobOptions(queue: "reports", maxAttempts: 5)
    var userID: String

    func run(_ context: JobContext) async throws {
        // A compensation runs once a step failed: the report step may or may not have completed.
        let report = try await context.stepOutcome("generate", as: Artifact.self)
        context.logger.warning("discarding partial report", metadata: [
            "workflow_id": "\(context.workflowID.map { "\($0)" } ?? "-")", "generate": "\(report.state.rawValue)",
            "location": "\(report.result?.location ?? "-")",
        ])
    }
}

@main
struct WorkflowExample {
    static func main() async throws {
        let fail = CommandLine.arguments.contains("--fail")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("surety-workflow-example-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let registry = JobRegistry([GenerateReport.self, ProcessAssets.self, UploadResults.self, NotifyUser.self, DiscardPartialReport.self])
        let queue = JobQueue(store: store, registry: registry)

        // Declare the graph by stable step names; parents come first, so there are no cycles.
        var workflow = try Workflow("monthly-report")
        try workflow.step("generate", GenerateReport(userID: "u-42", month: "2026-10"))
        for kind in ["thumbnails", "charts", "tables"] {
            try workflow.step(kind, ProcessAssets(kind: kind, failPermanently: fail && kind == "tables"), after: ["generate"])
        }
        try workflow.step("upload", UploadResults(), after: ["thumbnails", "charts", "tables"])
        try workflow.step("notify", NotifyUser(userID: "u-42"), after: ["upload"])
        try workflow.compensation("discard-partial", DiscardPartialReport(userID: "u-42"))

        // All steps are stored in one transaction; a second enqueue with the key returns this one.
        let enqueued = try await queue.enqueue(workflow, tenant: try TenantID("acme"), uniqueKey: "report:u-42:2026-10")
        print("enqueued workflow \(enqueued.id)")

        let logger = Logger(label: "workflow-example")
        let worker = Worker(store: store, registry: registry, configuration: WorkerConfiguration(queues: ["reports"], concurrency: 4, pollInterval: .milliseconds(100)))
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let finished = try await withThrowingTaskGroup(of: WorkflowRecord?.self) { tasks in
            tasks.addTask { try await group.run(); return nil }
            tasks.addTask {
                while true {
                    if let record = try await queue.workflow(enqueued.id), record.state.isTerminal, record.steps.allSatisfy(\.state.isTerminal) {
                        return record
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let record = try await tasks.next() ?? nil
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return record
        }
        guard let finished else { return }
        print("workflow \(finished.id) \(finished.name): \(finished.state.rawValue)\(finished.note.map { " (\($0))" } ?? "")")
        for step in finished.steps {
            print("  \(step.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(step.state.rawValue)")
        }
    }
}
