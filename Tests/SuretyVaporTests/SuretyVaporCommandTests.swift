import Foundation
import Surety
import SuretyCLI
import SuretySQLite
import SuretyVaporCommands
import Testing
import VaporTesting

@Suite("The app's own `surety` Vapor command")
struct SuretyVaporCommandTests {
    static func runApp(_ arguments: [String]) async throws {
        let app = try await Application.make(Environment(name: "testing", arguments: ["app"] + arguments))
        app.asyncCommands.use(SuretyVaporCommand(application: SuretyApplication(jobs: [Greet.self])), as: "surety")
        do {
            try await app.startup()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    @Test("`app surety enqueue` runs SuretyCommand with the app's job types and the remaining arguments")
    func forwardsArguments() async throws {
        let folder = try TempFolder()
        let path = folder.file("jobs.sqlite")
        try await Self.runApp(["surety", "enqueue", "--store", "sqlite:\(path)", "--type", Greet.name,
                               "--payload", #"{"name": "bob"}"#, "--tenant", "globex"])
        let store = try SQLiteStore(path: path)
        let jobs = try await store.jobs(JobFilter(types: [Greet.name]))
        #expect(jobs.count == 1)
        #expect(jobs.first?.tenant == (try TenantID("globex")))
    }

    @Test("a failing `surety` command throws SuretyCommandFailed with its exit code")
    func failureHasTheExitCode() async throws {
        let folder = try TempFolder()
        let error = await #expect(throws: SuretyCommandFailed.self) {
            try await Self.runApp(["surety", "enqueue", "--store", "sqlite:\(folder.file("jobs.sqlite"))", "--type", "no.such-type",
                                   "--payload", "{}", "--tenant", "globex"])
        }
        #expect(error?.exitCode != 0)
    }
}
