import Foundation
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Dead-letter inbox operations")
struct DeadLetterTests {
    /// A store with `count` demo.flaky jobs that fail permanently on their first attempt, run to
    /// the inbox by a worker process.
    static func deadJobs(_ count: Int, in dir: TempDir) async throws -> (SQLiteStore, [JobID]) {
        let url = dir.storeURL()
        var ids: [JobID] = []
        for index in 0..<count {
            let result = try await CLI.run([
                "enqueue", "--store", url, "--type", "demo.flaky", "--payload", #"{"transientRate": 0, "permanentRate": 1}"#,
                "--tenant", index % 2 == 0 ? "acme" : "globex", "--correlation", "order_id=ord-\(index)", "--tag", "batch-7", "--json",
            ], in: dir)
            ids.append(try enqueuedID(result))
        }
        let store = try await openStore(dir)
        let worker = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--poll-interval-ms", "100"], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("all jobs are dead") {
            try await store.jobs(JobFilter(states: [.dead])).count == count
        }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        return (store, ids)
    }

    @Test("requeue and discard write audit rows (who, why, when) shown by jobs show --json; --dry-run changes nothing")
    func requeueAndDiscardAreAudited() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let (store, ids) = try await Self.deadJobs(3, in: dir)
        let before = Date()

        // Dry run: reports, changes nothing.
        let dry = try await CLI.run(["dlq", "requeue", "\(ids[0])", "--store", url, "--by", "alice", "--reason", "upstream fixed", "--dry-run", "--json"], in: dir)
        #expect(dry.status == 0, "\(dry)")
        let dryJSON = try dry.json()
        #expect(dryJSON["dry_run"] as? Bool == true)
        #expect(dryJSON["changed"] as? [Int] == [Int(ids[0].rawValue)])
        #expect(try await store.job(ids[0])?.state == .dead)
        #expect(try await store.audit(of: ids[0]).isEmpty)

        let dryDiscard = try await CLI.run(["dlq", "discard", "--all-matching", "--tenant", "acme", "--store", url, "--by", "bob", "--reason", "x", "--dry-run"], in: dir)
        #expect(dryDiscard.status == 0, "\(dryDiscard)")
        #expect(dryDiscard.stdout.contains("dry run: nothing was changed"))
        #expect(try await store.jobs(JobFilter(states: [.dead])).count == 3)

        // Requeue: back to available, attempts reset, audited.
        let requeue = try await CLI.run(["dlq", "requeue", "\(ids[0])", "--store", url, "--by", "alice", "--reason", "upstream fixed"], in: dir)
        #expect(requeue.status == 0, "\(requeue)")
        #expect(requeue.stdout.contains("requeued by alice"), "\(requeue)")
        let requeued = try #require(try await store.job(ids[0]))
        #expect(requeued.state == .available)
        #expect(requeued.attempt == 0)

        let show = try await CLI.run(["jobs", "show", "\(ids[0])", "--store", url, "--json"], in: dir)
        #expect(show.status == 0, "\(show)")
        let audit = try #require(try show.json()["audit"] as? [[String: Any]])
        #expect(audit.count == 1)
        #expect(audit.first?["action"] as? String == "requeue")
        #expect(audit.first?["actor"] as? String == "alice")
        #expect(audit.first?["reason"] as? String == "upstream fixed")
        let at = try #require(audit.first?["at"] as? String)
        let when = try Date(at, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        #expect(when >= before.addingTimeInterval(-1) && when <= Date().addingTimeInterval(1))
        // The earlier attempt is still in the history.
        let attempts = try #require(try show.json()["attempts"] as? [[String: Any]])
        #expect(attempts.first?["outcome"] as? String == "failed")

        // Discard by filter: the other two, "won't retry" with a note.
        let discard = try await CLI.run(["dlq", "discard", "--all-matching", "--tag", "batch-7", "--store", url,
                                         "--by", "bob", "--reason", "customer closed the account", "--json"], in: dir)
        #expect(discard.status == 0, "\(discard)")
        let discarded = try discard.json()
        #expect(Set(discarded["changed"] as? [Int] ?? []) == Set(ids[1...].map { Int($0.rawValue) }))
        for id in ids[1...] {
            let job = try #require(try await store.job(id))
            #expect(job.state == .cancelled)
            #expect(job.note?.contains("customer closed the account") == true, "\(String(describing: job.note))")
            let rows = try await store.audit(of: id)
            #expect(rows.map(\.action) == ["discard"])
            #expect(rows.first?.actor == "bob")
        }
        let discardedShow = try await CLI.run(["dlq", "show", "\(ids[1])", "--store", url], in: dir)
        #expect(discardedShow.stdout.contains("customer closed the account"))
        #expect(discardedShow.stdout.contains("discard"))

        // Acting again on a job that is no longer dead: skipped, exit 1 since it was named.
        let again = try await CLI.run(["dlq", "discard", "\(ids[0])", "--store", url, "--by", "bob", "--reason", "again"], in: dir)
        #expect(again.status == 1, "\(again)")
        #expect(again.stdout.contains("skipped 1"), "\(again)")
        let unknown = try await CLI.run(["dlq", "requeue", "99999", "--store", url, "--by", "bob", "--reason", "x", "--json"], in: dir)
        #expect(unknown.status == 1)
        #expect((try unknown.json()["skipped"] as? [[String: Any]])?.first?["reason"] as? String == "no such job")
    }

    @Test("dlq list filters and pages; dlq show explains the failure")
    func listAndShow() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let (_, ids) = try await Self.deadJobs(3, in: dir)

        let all = try await CLI.run(["dlq", "list", "--store", url, "--json"], in: dir)
        #expect(all.status == 0, "\(all)")
        let jobs = try #require(try all.json()["jobs"] as? [[String: Any]])
        #expect(jobs.compactMap { $0["id"] as? Int } == ids.reversed().map { Int($0.rawValue) }, "newest first")
        #expect(jobs.allSatisfy { $0["dead_reason"] as? String == "permanent_error" })

        let acme = try await CLI.run(["dlq", "list", "--store", url, "--tenant", "acme", "--json"], in: dir)
        #expect((try acme.json()["jobs"] as? [[String: Any]])?.count == 2)
        let byCorrelation = try await CLI.run(["dlq", "list", "--store", url, "--correlation", "order_id=ord-1", "--json"], in: dir)
        #expect((try byCorrelation.json()["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(ids[1].rawValue)])

        let page = try await CLI.run(["dlq", "list", "--store", url, "--limit", "2", "--json"], in: dir)
        let pageJSON = try page.json()
        #expect((pageJSON["jobs"] as? [[String: Any]])?.count == 2)
        let next = try #require(pageJSON["next_before_id"] as? Int)
        let page2 = try await CLI.run(["dlq", "list", "--store", url, "--limit", "2", "--before-id", "\(next)", "--json"], in: dir)
        let page2JSON = try page2.json()
        #expect((page2JSON["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(ids[0].rawValue)])
        #expect(page2JSON["next_before_id"] is NSNull)

        let text = try await CLI.run(["dlq", "show", "\(ids[0])", "--store", url], in: dir)
        #expect(text.status == 0)
        for expected in ["demo.flaky", "tenant acme", "permanent_error", "order_id=ord-0", "PermanentFailure", "Attempt history", "failed"] {
            #expect(text.stdout.contains(expected), "missing \(expected) in \(text.stdout)")
        }

        let missing = try await CLI.run(["dlq", "show", "424242", "--store", url], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no job with id 424242"))
    }
}
