import Foundation
import Surety
import SuretySQLite
import Testing

/// `surety enqueue --file`: bulk enqueue from JSON lines (docs/cli.md).
@Suite("surety enqueue --file")
struct EnqueueFileTests {
    static let good = """
        {"type": "demo.noop", "payload": {}, "tenant": "acme", "unique_key": "a", "unique_scope": "forever"}

        {"type": "demo.email", "payload": {"to": "b@globex.example", "subject": "Hi"}, "tenant": "globex", "unique_key": "b", "unique_scope": "forever", "tags": ["backfill"], "correlation": {"batch": "7"}, "priority": 4, "max_attempts": 3}
        {"type": "demo.noop", "payload": {}, "system": true, "delay_seconds": 60, "queue": "default"}
        """

    @Test("every line is enqueued with its fields; --json acknowledges each line; a rerun inserts nothing twice for keys held for ever")
    func enqueuesEveryLine() async throws {
        let dir = try TempDir()
        let file = dir.file("jobs.jsonl")
        try Self.good.write(toFile: file, atomically: true, encoding: .utf8)
        let first = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--file", file, "--json"], in: dir)
        #expect(first.status == 0, "\(first)")
        let acks = first.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(acks.count == 3, "\(first.stdout)")
        #expect(Set(acks.compactMap { $0["line"] as? Int }) == [1, 3, 4], "line numbers of the file (blank line 2 skipped)")
        #expect(acks.allSatisfy { $0["inserted"] as? Bool == true })

        let store = try await openStore(dir)
        let jobs = try await store.jobs(JobFilter(limit: 100))
        #expect(jobs.count == 3)
        let email = try #require(jobs.first { $0.type == "demo.email" })
        #expect(email.tenant.rawValue == "globex")
        #expect(email.tags == ["backfill"])
        #expect(email.correlation == ["batch": "7"])
        #expect(email.priority == 4)
        #expect(email.maxAttempts == 3)
        #expect(email.uniqueKey == "b")
        let delayed = try #require(jobs.first { $0.tenant == .system })
        #expect(delayed.state == .scheduled)

        // The keyed lines (scope forever) insert nothing again; the unkeyed line is a new job.
        let again = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--file", file], in: dir)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("enqueued 1 jobs"), "\(again.stdout)")
        #expect(again.stdout.contains("2 lines found their unique key held"), "\(again.stdout)")
        #expect(try await store.jobs(JobFilter(limit: 100)).count == 4)
    }

    @Test("one bad line is exit 1 naming the line, and nothing of the file is enqueued", arguments: [
        (#"{"type": "demo.nope", "payload": {}, "tenant": "acme"}"#, "unknown_job_type"),
        (#"{"type": "demo.email", "payload": {"to": 3}, "tenant": "acme"}"#, "invalid_payload"),
        (#"{"type": "demo.noop", "payload": {}}"#, "missing_tenant"),
        (#"{"type": "demo.noop", "payload": {}, "tenant": "acme", "colour": "red"}"#, "unknown field 'colour'"),
        (#"{"type": "demo.noop", "payload": "{}", "tenant": "acme"}"#, "'payload' must be a JSON object"),
        (#"not json"#, "not a JSON object"),
        (#"{"type": "demo.noop", "payload": {}, "tenant": "acme", "priority": 12}"#, "priority must be between 0"),
        (#"{"type": "demo.noop", "payload": {}, "tenant": "acme", "max_attempts": 0}"#, "maxAttempts must be at least 1"),
    ])
    func badLine(line: String, expected: String) async throws {
        let dir = try TempDir()
        let file = dir.file("jobs.jsonl")
        try (#"{"type": "demo.noop", "payload": {}, "tenant": "acme"}"# + "\n" + line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--file", file], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("line 2"), "\(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("store.sqlite")), "nothing enqueued, no store created")
    }

    @Test("--file with a single-job flag, or neither --file nor --type, is a usage error")
    func usage() async throws {
        let dir = try TempDir()
        let file = dir.file("jobs.jsonl")
        try "".write(toFile: file, atomically: true, encoding: .utf8)
        let mixed = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--file", file, "--tenant", "acme"], in: dir)
        #expect(mixed.status == 2, "\(mixed)")
        #expect(mixed.stderr.contains("--file takes every job's fields from its lines"))
        let neither = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--tenant", "acme"], in: dir)
        #expect(neither.status == 2, "\(neither)")
        #expect(neither.stderr.contains("pass --type and --payload, or --file"))
    }
}
