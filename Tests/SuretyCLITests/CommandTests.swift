import Foundation
import Surety
import SuretySQLite
@testable import SuretyCLI
import SuretyViews
import Testing

@Suite("Commands and output shapes")
struct CommandTests {
    @Test("store URLs parse: sqlite:PATH, sqlite://PATH, absolute and relative, postgres:// with ?schema=; others are refused")
    func storeURLs() throws {
        #expect(try StoreURL.parse("sqlite:surety.sqlite") == .sqlite(path: "surety.sqlite"))
        #expect(try StoreURL.parse("sqlite:/var/lib/s.sqlite") == .sqlite(path: "/var/lib/s.sqlite"))
        #expect(try StoreURL.parse("sqlite://data/s.sqlite") == .sqlite(path: "data/s.sqlite"))
        #expect(try StoreURL.parse("sqlite:///var/lib/s.sqlite") == .sqlite(path: "/var/lib/s.sqlite"))
        #expect(try StoreURL.parse("SQLITE:x.db") == .sqlite(path: "x.db"))
        #expect(try StoreURL.parse("sqlite:~/s.sqlite") == .sqlite(path: FileManager.default.homeDirectoryForCurrentUser.path + "/s.sqlite"))
        #expect(StoreURL.sqlite(path: "/a/b/../c.sqlite").absolutePath == "/a/c.sqlite")
        #expect(StoreURL.sqlite(path: "c.sqlite").absolutePath == FileManager.default.currentDirectoryPath + "/c.sqlite")
        for bad in ["", "sqlite:", "sqlite://", "surety.sqlite", "mysql://h/db", "file:/x"] {
            #expect(throws: SuretyError.self, "\(bad)") { try StoreURL.parse(bad) }
            do { _ = try StoreURL.parse(bad) } catch let error as SuretyError { #expect(error.code == .invalidStoreURL) }
        }
        #expect(try StoreURL.parse("postgres://u@h/db") == .postgres(url: "postgres://u@h/db", schema: "public"))
        #expect(try StoreURL.parse("postgresql://u:pw@h:6000/db?schema=jobs_1&sslmode=require")
            == .postgres(url: "postgresql://u:pw@h:6000/db?sslmode=require", schema: "jobs_1"))
        let withPassword = try StoreURL.parse("postgres://app:s3cret@db.internal:5433/app?schema=surety")
        #expect(withPassword.description == "postgres://app:***@db.internal:5433/app?schema=surety")
        #expect(!withPassword.absolutePath.contains("s3cret"))
        for bad in ["postgres://u:s3cret@/db", "postgres://u:s3cret@h/", "postgres://u:s3cret@h/db?schema=Bad-Name",
                    "postgres://u:s3cret@h/db?schema=", "postgres://u:s3cret@h/db?sslmode=sometimes", "postgres://u:s3cret@h:99999/db"] {
            do {
                _ = try StoreURL.parse(bad)
                Issue.record("\(bad) should be refused")
            } catch let error as SuretyError {
                #expect(error.code == .invalidStoreURL, "\(bad)")
                #expect(!error.message.contains("s3cret"), "the password leaked: \(error.message)")
            }
        }
        #expect(try StoreURL.resolve(nil, environment: ["SURETY_STORE": "sqlite:env.sqlite"]) == .sqlite(path: "env.sqlite"))
        #expect(try StoreURL.resolve("sqlite:flag.sqlite", environment: ["SURETY_STORE": "sqlite:env.sqlite"]) == .sqlite(path: "flag.sqlite"))
        #expect(try StoreURL.resolve(nil, environment: [:]) == .sqlite(path: "surety.sqlite"))
    }

    @Test("JSON rendering is stable: sorted keys, nulls kept, escapes")
    func jsonRendering() {
        let value = JSONValue.object([
            "b": .array([.int(1), .double(0.5), .bool(true), .null]), "a": .string("quote \" slash / newline \n"),
            "empty": .object([:]), "list": .array([]),
        ])
        #expect(value.rendered(pretty: false) == #"{"a":"quote \" slash / newline \n","b":[1,0.5,true,null],"empty":{},"list":[]}"#)
        #expect(value.rendered().hasPrefix("{\n  \"a\": "))
        #expect(JSONValue.parse(#"{"x": [1, 2.5, "s", false, null]}"#) == .object(["x": .array([.int(1), .double(2.5), .string("s"), .bool(false), .null])]))
        #expect(JSONValue.parse("{nope") == .string("[REDACTED: payload is not valid JSON]"))
    }

    @Test("demo randomness is a function of seed, job and attempt")
    func demoRandomness() {
        let a = DemoRandom.unit(seed: 7, job: 12, attempt: 1, purpose: "flaky")
        #expect(a == DemoRandom.unit(seed: 7, job: 12, attempt: 1, purpose: "flaky"))
        #expect(a != DemoRandom.unit(seed: 7, job: 12, attempt: 2, purpose: "flaky"))
        #expect(a != DemoRandom.unit(seed: 8, job: 12, attempt: 1, purpose: "flaky"))
        #expect((0..<1000).allSatisfy { (0..<1).contains(DemoRandom.unit(seed: 1, job: Int64($0), attempt: 1, purpose: "p")) })
    }

    @Test("enqueue: options, unique keys, --system, delays, and the --json shape")
    func enqueueOptions() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let first = try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.email", "--payload", #"{"to": "a@b.example", "subject": "hi"}"#,
            "--tenant", "acme", "--key", "welcome:1", "--queue", "vip", "--priority", "4", "--max-attempts", "9",
            "--tag", "signup", "--tag", "web", "--correlation", "user_id=u1", "--correlation", "request_id=r1", "--json",
        ], in: dir)
        #expect(first.status == 0, "\(first)")
        let json = try first.json()
        #expect(Set(json.keys) == ["id", "inserted", "job", "store"])
        #expect(json["inserted"] as? Bool == true)
        let job = try #require(json["job"] as? [String: Any])
        let documentedKeys: Set<String> = [
            "id", "type", "queue", "priority", "tenant", "state", "payload", "attempt", "max_attempts", "run_at",
            "enqueued_at", "first_attempt_at", "attempted_at", "attempted_by", "lease_until", "finished_at",
            "last_error", "dead_reason", "unique_key", "unique_scope", "tags", "correlation", "note",
        ]
        #expect(Set(job.keys) == documentedKeys)
        #expect(job["queue"] as? String == "vip")
        #expect(job["priority"] as? Int == 4)
        #expect(job["max_attempts"] as? Int == 9)
        #expect(job["tags"] as? [String] == ["signup", "web"])
        #expect(job["correlation"] as? [String: String] == ["user_id": "u1", "request_id": "r1"])
        #expect(job["unique_key"] as? String == "welcome:1")
        #expect(job["state"] as? String == "available")
        #expect(job["last_error"] is NSNull)

        let duplicate = try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.email", "--payload", #"{"to": "a@b.example", "subject": "again"}"#,
            "--tenant", "acme", "--key", "welcome:1",
        ], in: dir)
        #expect(duplicate.status == 0)
        #expect(duplicate.stdout.contains("not inserted"), "\(duplicate)")
        #expect(duplicate.stdout.contains("held by job \(json["id"] as? Int ?? -1)"))

        let delayed = try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--system", "--delay", "3600", "--json"], in: dir)
        let delayedJob = try #require(try delayed.json()["job"] as? [String: Any])
        #expect(delayedJob["state"] as? String == "scheduled")
        #expect(delayedJob["tenant"] as? String == "@system")

        let at = try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "globex", "--run-at", "2099-01-02T03:04:05Z", "--json"], in: dir)
        let atJob = try #require(try at.json()["job"] as? [String: Any])
        #expect(atJob["run_at"] as? String == "2099-01-02T03:04:05.000Z")

        let list = try await CLI.run(["jobs", "list", "--store", url, "--state", "scheduled", "--json"], in: dir)
        #expect((try list.json()["jobs"] as? [[String: Any]])?.count == 2)
        let text = try await CLI.run(["jobs", "list", "--store", url, "--tenant", "acme"], in: dir)
        #expect(text.stdout.contains("demo.email"))
        #expect(!text.stdout.contains("demo.noop"))
    }

    @Test("stats --json has the documented shape and counts")
    func statsShape() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        for _ in 0..<3 {
            #expect(try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "acme"], in: dir).status == 0)
        }
        #expect(try await CLI.run(["enqueue", "--store", url, "--type", "demo.email", "--payload", #"{"to":"a@b.example","subject":"s"}"#, "--system"], in: dir).status == 0)
        let stats = try await CLI.run(["stats", "--store", url, "--json"], in: dir)
        #expect(stats.status == 0, "\(stats)")
        let json = try stats.json()
        #expect(Set(json.keys) == [
            "store", "total", "by_state", "by_queue", "by_type", "dead_letter", "latency", "limits", "dead_letter_by_queue", "dead_letter_by_type", "recent",
        ])
        #expect(json["total"] as? Int == 4)
        #expect(json["dead_letter"] as? Int == 0)
        let byState = try #require(json["by_state"] as? [String: Int])
        #expect(Set(byState.keys) == Set(JobState.allCases.map(\.rawValue)))
        #expect(byState["available"] == 4)
        #expect((json["by_type"] as? [String: [String: Int]])?["demo.noop"]?["available"] == 3)
        #expect((json["by_queue"] as? [String: [String: Int]])?["email"]?["available"] == 1)
        let latency = try #require(json["latency"] as? [String: Any])
        #expect(Set(latency.keys) == ["sample_size", "queue_wait_seconds", "run_seconds", "end_to_end_seconds"])
        #expect((latency["run_seconds"] as? [String: Any])?["p50"] is NSNull)

        let migrate = try await CLI.run(["migrate", "--store", url, "--json", "--demo-tables"], in: dir)
        #expect(migrate.status == 0)
        #expect(try migrate.json()["migrated"] as? Bool == true)
    }
}
