import Foundation
import Surety
import SuretySQLite
@testable import SuretyCLI
import Testing

@Suite("surety limits")
struct LimitsCommandTests {
    @Test("limits set, list (text and JSON), shown in stats, enforced at enqueue, removed; bad input refused")
    func limitsRoundTrip() async throws {
        let dir = try TempDir()
        let store = dir.storeURL()
        #expect(try await CLI.run(["migrate", "--store", store], in: dir).status == 0)
        let set = try await CLI.run(["limits", "set", "email", "--rate", "10/s", "--per-key", "1", "--max-backlog", "2", "--store", store], in: dir)
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("email") && set.stdout.contains("10/s") && set.stdout.contains("1 (ordered)"))

        let list = try await CLI.run(["limits", "list", "--json", "--store", store], in: dir)
        let email = try #require((try list.json()["limits"] as? [String: Any])?["email"] as? [String: Any])
        #expect(email["concurrency_per_key"] as? Int == 1)
        #expect(email["max_backlog"] as? Int == 2)
        #expect(email["overflow"] as? String == "reject")
        #expect((email["rate"] as? [String: Any])?["count"] as? Int == 10)

        for _ in 0..<2 {
            let ok = try await CLI.run(["enqueue", "--store", store, "--type", "demo.email", "--payload", #"{"to":"a@b.example","subject":"hi"}"#, "--tenant", "acme", "--partition-key", "acct-1"], in: dir)
            #expect(ok.status == 0, "\(ok)")
        }
        let full = try await CLI.run(["enqueue", "--store", store, "--type", "demo.email", "--payload", #"{"to":"a@b.example","subject":"hi"}"#, "--tenant", "acme"], in: dir)
        #expect(full.status == 1, "a full queue fails the enqueue: \(full)")
        #expect(full.stderr.contains("queue 'email' is full") && full.stderr.contains("queue_full"), "\(full.stderr)")

        let stats = try await CLI.run(["stats", "--json", "--store", store], in: dir)
        let statsLimits = try #require((try stats.json()["limits"] as? [String: Any])?["email"] as? [String: Any])
        #expect(statsLimits["waiting"] as? Int == 2, "stats shows the queue's limits with its backlog")
        let statsText = try await CLI.run(["stats", "--store", store], in: dir)
        #expect(statsText.stdout.contains("Queue limits:") && statsText.stdout.contains("2/2 reject"), "\(statsText.stdout)")

        let sqlite = try await openStore(dir)
        let record = try await sqlite.jobs(JobFilter(queues: ["email"])).first
        #expect(record?.partitionKey == "acct-1", "--partition-key is stored")

        let bad = try await CLI.run(["limits", "set", "email", "--rate", "ten per second", "--store", store], in: dir)
        #expect(bad.status != 0 && bad.stderr.contains("COUNT/PERIOD"), "\(bad)")
        let zero = try await CLI.run(["limits", "set", "email", "--concurrency", "0", "--store", store], in: dir)
        #expect(zero.status != 0 && zero.stderr.contains("at least 1"), "\(zero)")
        let unchanged = try await sqlite.queueLimits()
        #expect(unchanged.first?.maxBacklog == 2, "a refused change leaves the limits as they were")

        #expect(try await CLI.run(["limits", "remove", "email", "--store", store], in: dir).status == 0)
        let again = try await CLI.run(["limits", "remove", "email", "--store", store], in: dir)
        #expect(again.status == 1 && again.stderr.contains("has no limits"))
        let empty = try await CLI.run(["limits", "list", "--store", store], in: dir)
        #expect(empty.stdout.contains("No queue has limits"))
    }

    @Test("rates parse from COUNT/PERIOD")
    func rateParsing() throws {
        #expect(try RateLimit(parsing: "10/s") == RateLimit(10, per: .seconds(1)))
        #expect(try RateLimit(parsing: "100/min") == RateLimit(100, per: .seconds(60)))
        #expect(try RateLimit(parsing: "3/500ms", burst: 1) == RateLimit(3, per: .milliseconds(500), burst: 1))
        #expect(try RateLimit(parsing: "5/h").periodMicros == 3_600_000_000)
        for bad in ["", "10", "/s", "10/", "x/s", "10/fortnight", "0/s", "10/0s"] {
            #expect(throws: SuretyError.self, "\(bad)") { try RateLimit(parsing: bad) }
        }
    }
}
