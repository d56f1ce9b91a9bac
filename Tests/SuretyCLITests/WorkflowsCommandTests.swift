import Foundation
import Surety
import SuretyPostgres
import SuretySQLite
import Testing

/// A step type for the command tests (the commands never run it).
struct CLIStepJob: Job {
    static let name = "cli.workflow-step"
    var step: String
    func run(_ context: JobContext) async throws {}
}

func enqueueReport(_ store: any JobStore) async throws -> WorkflowID {
    var workflow = try Workflow("monthly-report")
    try workflow.step("generate", CLIStepJob(step: "generate"))
    try workflow.step("upload", CLIStepJob(step: "upload"), after: ["generate"])
    try workflow.compensation("cleanup", CLIStepJob(step: "cleanup"))
    return try await JobQueue(store: store).enqueue(workflow, tenant: try TenantID("acme"), uniqueKey: "report-u1").id
}

/// list, show and cancel on one store URL; shared by the SQLite and PostgreSQL tests.
func checkWorkflowCommands(url: String, store: any JobStore, in dir: TempDir) async throws {
    let id = try await enqueueReport(store)
    let list = try await CLI.run(["workflows", "list", "--store", url, "--json"], in: dir)
    #expect(list.status == 0, "\(list)")
    let listed = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
    #expect(listed.count == 1 && listed.first?["id"] as? Int == Int(id.rawValue) && listed.first?["state"] as? String == "running")
    let text = try await CLI.run(["workflows", "list", "--store", url, "--state", "running"], in: dir)
    #expect(text.status == 0 && text.stdout.contains("monthly-report") && text.stdout.contains("0/2"), "\(text)")

    let show = try await CLI.run(["workflows", "show", "\(id)", "--store", url], in: dir)
    #expect(show.status == 0, "\(show)")
    #expect(show.stdout.contains("generate") && show.stdout.contains("active") && show.stdout.contains("waiting") && show.stdout.contains("cleanup (compensation)"), "\(show)")
    let showJSON = try await CLI.run(["workflows", "show", "\(id)", "--store", url, "--json"], in: dir)
    let steps = try #require(try showJSON.json()["steps"] as? [[String: Any]])
    #expect(steps.map { $0["name"] as? String } == ["generate", "upload", "cleanup"])
    #expect(steps[1]["after"] as? [String] == ["generate"] && steps[0]["job_state"] as? String == "available")

    let cancel = try await CLI.run(["workflows", "cancel", "\(id)", "--store", url, "--by", "ops@example.com", "--reason", "customer left"], in: dir)
    #expect(cancel.status == 0 && cancel.stdout.contains("cancelled workflow \(id)") && cancel.stdout.contains("cancelled step job"), "\(cancel)")
    let after = try await CLI.run(["workflows", "show", "\(id)", "--store", url, "--json"], in: dir)
    #expect(try after.json()["state"] as? String == "cancelled")
    #expect(try after.json()["note"] as? String == "cancelled by ops@example.com: customer left")
    let again = try await CLI.run(["workflows", "cancel", "\(id)", "--store", url, "--by", "ops", "--reason", "again"], in: dir)
    #expect(again.status == 1 && again.stdout.contains("skipped workflow"), "\(again)")

    let missing = try await CLI.run(["workflows", "show", "999999", "--store", url], in: dir)
    #expect(missing.status == 1 && missing.stderr.contains("no workflow with id 999999"), "\(missing)")
    let badState = try await CLI.run(["workflows", "list", "--store", url, "--state", "sideways"], in: dir)
    #expect(badState.status == 2 && badState.stderr.contains("unknown state 'sideways'"), "\(badState)")
    let noReason = try await CLI.run(["workflows", "cancel", "\(id)", "--store", url, "--by", "ops", "--reason", " "], in: dir)
    #expect(noReason.status == 2, "\(noReason)")

    // Paging: a full page names the next one; --before-id lists the older workflows.
    var second = try Workflow("weekly-report")
    try second.step("generate", CLIStepJob(step: "generate"))
    let newer = try await JobQueue(store: store).enqueue(second, tenant: try TenantID("acme")).id
    let firstPage = try await CLI.run(["workflows", "list", "--store", url, "--limit", "1"], in: dir)
    #expect(firstPage.status == 0 && firstPage.stdout.contains("weekly-report") && !firstPage.stdout.contains("monthly-report"), "\(firstPage)")
    #expect(firstPage.stdout.contains("next page: --before-id \(newer)"), "\(firstPage)")
    let nextPage = try await CLI.run(["workflows", "list", "--store", url, "--before-id", "\(newer)", "--json"], in: dir)
    let older = try #require(try JSONSerialization.jsonObject(with: Data(nextPage.stdout.utf8)) as? [[String: Any]])
    #expect(older.map { $0["id"] as? Int } == [Int(id.rawValue)], "\(nextPage)")
    let badCursor = try await CLI.run(["workflows", "list", "--store", url, "--before-id", "0"], in: dir)
    #expect(badCursor.status == 2 && badCursor.stderr.contains("--before-id"), "\(badCursor)")
}

@Suite("surety workflows")
struct WorkflowsCommandTests {
    @Test("workflows list (paged by --before-id), show and cancel on SQLite; unknown ids and bad input fail clearly")
    func onSQLite() async throws {
        let dir = try TempDir()
        let store = try await openStore(dir)
        try await checkWorkflowCommands(url: dir.storeURL(), store: store, in: dir)
    }

    @Test("workflows list, show and cancel on a postgres:// store URL", .enabled(if: PGServer.enabled))
    func onPostgres() async throws {
        let dir = try TempDir()
        try await PGServer.withFreshSchema { url, store in
            try await checkWorkflowCommands(url: url, store: store, in: dir)
        }
    }
}
