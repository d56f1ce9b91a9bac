import Foundation
import Hummingbird
import HummingbirdTesting
import Surety
@testable import SuretyCLI
import SuretyDashboard
import SuretySQLite
import SuretyViews
import Testing

/// The CLI's `--json` and the dashboard's /api print one definition of a job, its attempts and its
/// audit rows (SuretyViews): these tests read the same jobs through both and compare.
@Suite("One JSON view: surety --json and the dashboard's /api")
struct JSONViewParityTests {
    static let planted = "s3cr3t-PARITY"
    static let token = "parity-token-0123456789"

    /// Runs `job` once and dead-letters it with an error `message`, through the store's own transitions.
    func deadLetter(_ store: SQLiteStore, _ job: NewJob, message: String) async throws -> JobID {
        let id = try await store.enqueue([job])[0].id
        let now = job.runAt.addingTimeInterval(1)
        let claimed = try await store.claim(ClaimRequest(queues: [job.queue], limit: 1, worker: "worker-1", now: now, leaseUntil: now.addingTimeInterval(30)))
        try #require(claimed.count == 1 && claimed[0].id == id)
        let results = try await store.finish([AttemptFinish(
            lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-1", startedAt: now, endedAt: now.addingTimeInterval(0.25),
            outcome: .failed, error: AttemptError(type: "ProviderError", message: message, errorClass: .permanent), next: .dead(.permanentError)
        )])
        try #require(results == [.applied])
        return id
    }

    /// A job of a known type whose payload, unique key, error message and audit reason carry a
    /// secret value, control characters, a line separator and a slash; and one of a type the
    /// build does not know.
    func seed(_ store: SQLiteStore) async throws -> (known: JobID, unknown: JobID) {
        let start = Date(timeIntervalSince1970: 1_790_000_000.125)
        let acme = TenantID(unchecked: "acme")
        let known = try await deadLetter(store, NewJob(
            type: "demo.email", queue: "email", priority: 3, tenant: acme,
            payload: #"{"to":"a@b.example","subject":"hi/there","secret":"\#(Self.planted)"}"#, runAt: start, enqueuedAt: start,
            maxAttempts: 3, uniqueKey: "mail:\(Self.planted)", tags: ["t/1"], correlation: ["request_id": "r-1"]
        ), message: "provider refused \(Self.planted) \u{1B}]52;x\u{07} line\u{2028}sep https://x.example/a")
        let unknown = try await deadLetter(store, NewJob(
            type: "custom.unknown", queue: "email", priority: 5, tenant: acme, payload: #"{"token":"\#(Self.planted)"}"#,
            runAt: start.addingTimeInterval(5), enqueuedAt: start.addingTimeInterval(5), maxAttempts: 1, uniqueKey: "u:\(Self.planted)"
        ), message: "failed")
        let action = try OperatorAction(actor: "alice", reason: "rotated \(Self.planted)", at: start.addingTimeInterval(60))
        #expect(try await store.requeue([known], action: action).changed == [known])
        return (known, unknown)
    }

    func cli(_ arguments: [String], in dir: TempDir) async throws -> (text: String, value: JSONValue) {
        let result = try await CLI.run(arguments + ["--store", dir.storeURL(), "--json"], in: dir)
        try #require(result.status == 0, "\(result)")
        return (result.stdout, try JSONDecoder().decode(JSONValue.self, from: Data(result.stdout.utf8)))
    }

    func api(_ path: String, store: SQLiteStore) async throws -> (text: String, value: JSONValue) {
        let dashboard = Dashboard(store: store, registry: JobRegistry(DemoJobs.types),
                                  configuration: DashboardConfiguration(credentials: [try DashboardCredential(token: Self.token)]))
        let app = Application(router: dashboard.makeRouter())
        return try await app.test(.router) { client in
            try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(Self.token)"]) { response in
                #expect(response.status == .ok, "\(path)")
                let text = String(buffer: response.body)
                return (text, try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
            }
        }
    }

    /// The dashboard's job object without the `url` it adds, after checking that url.
    func withoutURL(_ job: JSONValue) -> JSONValue {
        var members = job.members
        #expect(members.removeValue(forKey: "url") == .string("/jobs/\(members["id"].map { "\($0.rendered())" } ?? "?")"))
        return .object(members)
    }

    @Test("jobs show --json and GET /api/jobs/{id} return the same job, attempts and audit (the dashboard adds the job's url), escaped alike")
    func showMatchesAPI() async throws {
        let dir = try TempDir()
        let store = try await openStore(dir)
        let (known, unknown) = try await seed(store)
        for id in [known, unknown] {
            let (cliText, cli) = try await cli(["jobs", "show", "\(id)"], in: dir)
            let (apiText, api) = try await api("/api/jobs/\(id)", store: store)
            var detail = api.members
            detail["job"] = withoutURL(detail["job"] ?? .null)
            #expect(JSONValue.object(detail) == cli, "job \(id)\n--- cli ---\n\(cliText)\n--- api ---\n\(apiText)")
            // The same keys everywhere, in the documented shape.
            #expect(Set(cli.members.keys) == ["job", "attempts", "audit"])
            // Nothing secret or invisible in either text: the secret is scrubbed, controls escaped alike.
            for text in [cliText, apiText] {
                #expect(!text.contains(Self.planted), "\(text)")
                #expect(!text.unicodeScalars.contains { ControlCharacters.contains($0) && $0 != "\n" }, "\(text)")
            }
        }
        let (_, shown) = try await cli(["jobs", "show", "\(known)"], in: dir)
        let job = shown.members["job"]?.members ?? [:]
        #expect(job["unique_key"] == .string("mail:[REDACTED]"))
        #expect(job["note"] == .string("rotated [REDACTED]"), "the requeue's note holds the reason, scrubbed like it")
        #expect(job["last_error"]?.members["message"] == .string("provider refused [REDACTED] \u{1B}]52;x\u{07} line\u{2028}sep https://x.example/a"))
        guard case .array(let audit) = shown.members["audit"], let row = audit.first else { Issue.record("no audit row"); return }
        #expect(row.members["reason"] == .string("rotated [REDACTED]"))
        #expect(row.members["job_id"] == .int(known.rawValue))
        guard case .array(let attempts) = shown.members["attempts"], let attempt = attempts.first else { Issue.record("no attempt"); return }
        #expect(attempt.members["duration_seconds"] == .double(0.25))
        let (_, other) = try await cli(["jobs", "show", "\(unknown)"], in: dir)
        #expect(other.members["job"]?.members["payload"] == .string("[REDACTED: unknown job type]"))
        #expect(other.members["job"]?.members["unique_key"] == .string("[REDACTED: unknown job type]"))
    }

    @Test("jobs list --json and GET /api/jobs return the same jobs (the dashboard adds each job's url)")
    func listMatchesAPI() async throws {
        let dir = try TempDir()
        let store = try await openStore(dir)
        _ = try await seed(store)
        let (cliText, cli) = try await cli(["jobs", "list", "--limit", "50"], in: dir)
        let (apiText, api) = try await api("/api/jobs?limit=50", store: store)
        guard case .array(let apiJobs) = api.members["jobs"], case .array(let cliJobs) = cli.members["jobs"] else {
            Issue.record("no jobs array\n\(cliText)\n\(apiText)")
            return
        }
        #expect(cliJobs.count == 2)
        #expect(apiJobs.map(withoutURL) == cliJobs, "--- cli ---\n\(cliText)\n--- api ---\n\(apiText)")
        #expect(api.members["next_before_id"] == cli.members["next_before_id"])
    }
}
