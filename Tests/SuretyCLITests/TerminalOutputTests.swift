import Foundation
import Surety
import SuretySQLite
import Testing

/// Review 2026-12 item 15: stored text (error messages, queue names, correlation, tags, notes,
/// audit actors and reasons) must never reach the operator's terminal as control sequences.
@Suite("Terminal output is escaped")
struct TerminalOutputTests {
    /// Any C0 (but a newline) or C1 control character, or DEL.
    static func controls(in text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter { ($0 < 0x20 && $0 != 0x0A) || (0x7F...0x9F).contains($0) }
    }

    /// Runs a job once to the dead-letter inbox with `message`.
    static func deadLetter(_ store: SQLiteStore, _ job: NewJob, message: String) async throws -> JobID {
        let id = try await store.enqueue([job])[0].id
        let now = Date()
        let claimed = try await store.claim(ClaimRequest(queues: [job.queue], limit: 1, worker: "worker\u{1B}[1m-1", now: now,
                                                         leaseUntil: now.addingTimeInterval(30)))
        try #require(claimed.count == 1 && claimed[0].id == id)
        let results = try await store.finish([AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker\u{1B}[1m-1",
                                                            startedAt: now, endedAt: now.addingTimeInterval(0.1), outcome: .failed,
                                                            error: AttemptError(type: "Provider\u{1B}[0mError", message: message, errorClass: .permanent),
                                                            next: .dead(.permanentError))])
        try #require(results == [.applied])
        return id
    }

    @Test("dlq show, jobs show and the lists print control characters as visible escapes; --json stays valid and exact")
    func controlCharactersAreEscaped() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let store = try await openStore(dir)
        let message = "x\u{1B}]0;pwned\u{07}\nAudit: forged line \u{9B}2J"
        let now = Date().addingTimeInterval(-5)
        let dead = try await Self.deadLetter(store, NewJob(
            type: "demo.email", queue: "email\u{1B}[8m", priority: 2, tenant: TenantID(unchecked: "acme"),
            payload: #"{"to":"a@b.example","subject":"hi\u001b]52;c;ZXZpbA==\u0007"}"#, runAt: now, enqueuedAt: now, maxAttempts: 1,
            tags: ["tag\u{1B}[31m"], correlation: ["request\u{1B}[2K": "r-1\u{1B}]0;title\u{07}"]
        ), message: message)
        let discarded = try await Self.deadLetter(store, NewJob(
            type: "demo.noop", queue: "default", priority: 2, tenant: TenantID(unchecked: "acme"), payload: "{}",
            runAt: now, enqueuedAt: now, maxAttempts: 1
        ), message: "plain")
        _ = try await store.discard([discarded], action: OperatorAction(actor: "eve\u{1B}[2J", reason: "gone\u{1B}]52;c;ZXZpbA==\u{07}", at: Date()))

        for arguments in [["dlq", "show", "\(dead)"], ["jobs", "show", "\(dead)"], ["jobs", "show", "\(discarded)"],
                          ["jobs", "list"], ["dlq", "list"], ["stats"], ["top", "--iterations", "1"]] {
            let result = try await CLI.run(arguments + ["--store", url], in: dir)
            #expect(result.status == 0, "\(arguments): \(result)")
            let output = result.stdout + result.stderr
            #expect(Self.controls(in: output).isEmpty, "\(arguments) printed control characters \(Self.controls(in: output)):\n\(output)")
            #expect(output.contains(#"\u{1B}"#), "\(arguments) shows the escape visibly:\n\(output)")
        }
        for id in [dead, discarded] {
            let text = try await CLI.run(["jobs", "show", "\(id)", "--store", url], in: dir)
            #expect(!text.stdout.split(separator: "\n").contains { $0.hasPrefix("Audit: forged") }, "a newline inside a field starts no line")
        }
        let shown = try await CLI.run(["dlq", "show", "\(dead)", "--store", url], in: dir)
        #expect(shown.stdout.contains(#"x\u{1B}]0;pwned\u{7}\nAudit: forged line \u{9B}2J"#), "\(shown.stdout)")
        #expect(shown.stdout.contains(#"email\u{1B}[8m"#) && shown.stdout.contains(#"r-1\u{1B}]0;title\u{7}"#))

        // JSON escapes control characters itself: the output parses and holds the exact values.
        for arguments in [["dlq", "show", "\(dead)", "--json"], ["jobs", "show", "\(dead)", "--json"], ["jobs", "show", "\(discarded)", "--json"]] {
            let result = try await CLI.run(arguments + ["--store", url], in: dir)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(Self.controls(in: result.stdout).isEmpty, "\(arguments)")
            let json = try result.json()
            let job = try #require(json["job"] as? [String: Any])
            if job["id"] as? Int == Int(dead.rawValue) {
                #expect((job["last_error"] as? [String: Any])?["message"] as? String == message)
                #expect(job["queue"] as? String == "email\u{1B}[8m")
            } else {
                #expect((json["audit"] as? [[String: Any]])?.first?["actor"] as? String == "eve\u{1B}[2J")
            }
        }
        let list = try await CLI.run(["jobs", "list", "--json", "--store", url], in: dir)
        #expect(Self.controls(in: list.stdout).isEmpty)
        #expect(((try list.json()["jobs"] as? [[String: Any]])?.count ?? 0) == 2)
    }
}
