import Foundation
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Secrets never leak")
struct SecretTests {
    static let planted = "s3cr3t-PLANTED"

    @Test("a planted secret never appears in any output: enqueue, worker logs, jobs, dlq, stats, text and --json")
    func plantedSecretNeverAppears() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        var outputs: [(String, String)] = []
        func capture(_ arguments: [String], expect status: Int32 = 0) async throws -> CLIResult {
            let result = try await CLI.run(arguments, in: dir)
            #expect(result.status == status, "\(arguments): \(result)")
            outputs.append((arguments.joined(separator: " "), result.stdout + result.stderr))
            return result
        }
        let payloads: [(String, String)] = [
            ("demo.email", #"{"to": "a@b.example", "subject": "hello", "secret": "s3cr3t-PLANTED"}"#),
            ("demo.email", #"{"to": "not-an-address", "subject": "bounce", "secret": "s3cr3t-PLANTED"}"#),
            ("demo.flaky", #"{"transientRate": 0, "permanentRate": 1, "secret": "s3cr3t-PLANTED"}"#),
            ("demo.payment", #"{"from": "acct-1", "to": "acct-2", "amount": 10, "secret": "s3cr3t-PLANTED"}"#),
            ("demo.noop", #"{"secret": "s3cr3t-PLANTED"}"#),
        ]
        var ids: [JobID] = []
        for (type, payload) in payloads {
            ids.append(try enqueuedID(try await capture(["enqueue", "--store", url, "--type", type, "--payload", payload, "--tenant", "acme", "--json"])))
        }
        _ = try await capture(["enqueue", "--store", url, "--type", "demo.noop", "--payload", #"{"secret": "s3cr3t-PLANTED"}"#, "--tenant", "acme"])
        _ = try await capture(["enqueue", "--store", url, "--type", "demo.email", "--payload", #"{"to": 1, "secret": "s3cr3t-PLANTED"}"#, "--tenant", "acme"], expect: 1)

        // A worker with the most verbose logging, faults off so the outcome is known.
        let store = try await openStore(dir)
        let worker = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--log-level", "trace", "--poll-interval-ms", "100",
            "--demo-email-error-rate", "0", "--demo-email-lost-rate", "0", "--demo-payment-lost-rate", "0",
        ], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("every job is final") {
            try await store.jobs(JobFilter(states: [.scheduled, .available, .running, .retrying])).isEmpty
        }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        outputs.append(("worker", worker.stdout + worker.stderr))
        #expect(worker.stderr.contains("job attempt finished"), "the worker logged attempts")
        let dead = try await store.jobs(JobFilter(states: [.dead]))
        #expect(dead.count == 2, "the bounced email and the flaky job")

        _ = try await capture(["jobs", "list", "--store", url])
        _ = try await capture(["jobs", "list", "--store", url, "--json"])
        _ = try await capture(["dlq", "list", "--store", url])
        _ = try await capture(["dlq", "list", "--store", url, "--json"])
        _ = try await capture(["stats", "--store", url])
        _ = try await capture(["stats", "--store", url, "--json"])
        _ = try await capture(["top", "--store", url, "--iterations", "1"])
        _ = try await capture(["prune", "--store", url, "--dry-run", "--json"])
        for id in ids {
            let text = try await capture(["jobs", "show", "\(id)", "--store", url])
            #expect(text.stdout.contains("\"secret\":\"[REDACTED]\""), "\(text.stdout)")
            let json = try await capture(["jobs", "show", "\(id)", "--store", url, "--json"])
            let payload = try #require((try json.json()["job"] as? [String: Any])?["payload"] as? [String: Any])
            #expect(payload["secret"] as? String == "[REDACTED]")
        }
        for job in dead {
            _ = try await capture(["dlq", "show", "\(job.id)", "--store", url])
            _ = try await capture(["dlq", "show", "\(job.id)", "--store", url, "--json"])
        }
        _ = try await capture(["dlq", "requeue", "--all-matching", "--store", url, "--by", "ops", "--reason", "retry", "--dry-run", "--json"])

        for (command, output) in outputs {
            #expect(!output.contains(Self.planted), "the secret leaked in `\(command)`:\n\(output)")
        }
        #expect(outputs.count > 20)

        // The secret is still stored (the job needs it), only never shown.
        let stored = try #require(try await store.job(ids[0]))
        #expect(stored.payload.contains(Self.planted))
    }

    @Test("a unique key computed from a secret field is scrubbed in jobs show and jobs list, text and --json (review 2026-12 item 17)")
    func uniqueKeyIsScrubbed() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let store = try await openStore(dir)
        let now = Date()
        // demo.email's `secret` field feeds the key, as a job keyed by a reset token would.
        let known = try await store.enqueue([NewJob(type: "demo.email", queue: "email", priority: 2, tenant: TenantID(unchecked: "acme"),
                                                    payload: #"{"to": "a@b.example", "subject": "reset", "secret": "\#(Self.planted)"}"#,
                                                    runAt: now, enqueuedAt: now, maxAttempts: 3, uniqueKey: "reset:\(Self.planted)")])[0].id
        // A type this build does not know: its secret fields are unknown, so the key is masked whole.
        let unknown = try await store.enqueue([NewJob(type: "billing.charge", queue: "default", priority: 2, tenant: TenantID(unchecked: "acme"),
                                                      payload: #"{"card_token": "\#(Self.planted)"}"#, runAt: now, enqueuedAt: now,
                                                      maxAttempts: 3, uniqueKey: "charge:\(Self.planted)")])[0].id
        var outputs: [String: String] = [:]
        for arguments in [["jobs", "show", "\(known)"], ["jobs", "show", "\(known)", "--json"], ["jobs", "show", "\(unknown)"],
                          ["jobs", "show", "\(unknown)", "--json"], ["jobs", "list"], ["jobs", "list", "--json"]] {
            let result = try await CLI.run(arguments + ["--store", url], in: dir)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(!(result.stdout + result.stderr).contains(Self.planted), "the secret leaked in `\(arguments.joined(separator: " "))`:\n\(result.stdout)")
            outputs[arguments.joined(separator: " ")] = result.stdout
        }
        #expect(outputs["jobs show \(known)"]?.contains("Unique key:     reset:[REDACTED] (while_active)") == true, "\(outputs)")
        let json = try #require(outputs["jobs show \(known) --json"])
        let job = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])["job"] as? [String: Any]
        #expect(job?["unique_key"] as? String == "reset:[REDACTED]")
        let other = try #require(outputs["jobs show \(unknown) --json"])
        let otherJob = try #require(try JSONSerialization.jsonObject(with: Data(other.utf8)) as? [String: Any])["job"] as? [String: Any]
        #expect(otherJob?["unique_key"] as? String == "[REDACTED: unknown job type]")
    }

    @Test("a job of a type this build does not know has its payload masked whole")
    func unknownTypeIsMasked() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let id = try enqueuedID(try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.noop", "--payload", #"{"secret": "s3cr3t-PLANTED"}"#, "--tenant", "acme", "--json",
        ], in: dir))
        let store = try await openStore(dir)
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET type = 'billing.charge', payload = ? WHERE id = ?",
                           arguments: [#"{"card_token": "s3cr3t-PLANTED", "amount": 10}"#, id.rawValue])
        }
        let json = try await CLI.run(["jobs", "show", "\(id)", "--store", url, "--json"], in: dir)
        #expect(json.status == 0, "\(json)")
        #expect((try json.json()["job"] as? [String: Any])?["payload"] as? String == "[REDACTED: unknown job type]")
        let text = try await CLI.run(["jobs", "show", "\(id)", "--store", url], in: dir)
        #expect(text.stdout.contains("[REDACTED: unknown job type]"))
        let list = try await CLI.run(["jobs", "list", "--store", url, "--json"], in: dir)
        for output in [json.stdout, text.stdout, list.stdout] {
            #expect(!output.contains(Self.planted))
            #expect(!output.contains("card_token"))
        }
    }
}
