import Foundation
import Surety
import SuretyCLI
import SuretySQLite
import Synchronization
import Testing

/// `SuretyApplication.tenantRule`: an application's rule for the tenants its operators may
/// enqueue for, asked by `surety enqueue` and `surety enqueue --file` before anything is written.
@Suite("surety enqueue: the application's tenant rule")
struct TenantRuleTests {
    struct Greet: Job {
        static let name = "app.greet"
        var to: String
        func run(_ context: JobContext) async throws {}
    }

    /// The tenants a rule was asked about, in order.
    final class Asked: Sendable {
        let names = Mutex<[String]>([])
    }

    /// An application that knows the tenants `acme` and the system tenant, and records what it was asked.
    static func application(asked: Asked) -> SuretyApplication {
        SuretyApplication(jobs: [Greet.self], tenantRule: { tenant, opened in
            asked.names.withLock { $0.append(tenant.rawValue) }
            #expect(opened.sqlite != nil, "the rule is given the store the command opened")
            return tenant == .system || tenant.rawValue == "acme"
        })
    }

    @Test("a tenant the rule accepts is enqueued; one it refuses is exit 2 invalid_tenant and nothing is enqueued")
    func singleEnqueue() async throws {
        let dir = try TempDir()
        let asked = Asked()
        let app = Self.application(asked: asked)
        let accepted = await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--type", "app.greet", "--payload", #"{"to":"ann"}"#, "--tenant", "acme"])
        #expect(accepted == 0)
        let refused = await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--type", "app.greet", "--payload", #"{"to":"bob"}"#, "--tenant", "globex"])
        #expect(refused == ExitCodes.usage, "invalid_tenant: exit 2, as for a malformed --tenant")
        let system = await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--type", "app.greet", "--payload", #"{"to":"ops"}"#, "--system"])
        #expect(system == 0)
        #expect(asked.names.withLock { $0 } == ["acme", "globex", TenantID.system.rawValue])

        let jobs = try await openStore(dir).jobs(JobFilter(limit: 10))
        #expect(Set(jobs.map(\.tenant.rawValue)) == ["acme", TenantID.system.rawValue], "the refused tenant's job was not written")
    }

    @Test("enqueue --file asks the rule once per tenant of the file, before any line is written: one refused tenant enqueues no line")
    func fileEnqueue() async throws {
        let dir = try TempDir()
        let file = dir.file("jobs.jsonl")
        try """
            {"type": "app.greet", "payload": {"to": "a"}, "tenant": "acme"}
            {"type": "app.greet", "payload": {"to": "b"}, "tenant": "acme"}
            {"type": "app.greet", "payload": {"to": "c"}, "tenant": "globex"}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let asked = Asked()
        let app = Self.application(asked: asked)
        let status = await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--file", file])
        #expect(status == ExitCodes.usage)
        #expect(asked.names.withLock { $0 } == ["acme", "globex"], "each tenant asked once, in file order")
        #expect(try await openStore(dir).jobs(JobFilter(limit: 10)).isEmpty, "no line of the file was enqueued")

        try """
            {"type": "app.greet", "payload": {"to": "a"}, "tenant": "acme"}
            {"type": "app.greet", "payload": {"to": "s"}, "system": true}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--file", file]) == 0)
        #expect(try await openStore(dir).jobs(JobFilter(limit: 10)).count == 2)
    }

    @Test("without a rule every valid tenant is accepted (the default)")
    func noRule() async throws {
        let dir = try TempDir()
        let app = SuretyApplication(jobs: [Greet.self])
        #expect(app.tenantRule == nil)
        #expect(await SuretyCommand.run(app, arguments: ["enqueue", "--store", dir.storeURL(), "--type", "app.greet", "--payload", #"{"to":"x"}"#, "--tenant", "anyone"]) == 0)
    }
}
