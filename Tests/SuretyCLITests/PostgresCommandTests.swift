import Foundation
import Surety
import SuretyPostgres
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `surety` on `postgres://…?schema=NAME` store URLs: the same commands as on SQLite.
@Suite("Commands on PostgreSQL", .enabled(if: PGServer.enabled))
struct PostgresCommandTests {
    @Test("migrate, enqueue, worker, stats, jobs and dlq work on a postgres:// store URL")
    func commandsOnPostgres() async throws {
        let dir = try TempDir()
        try await PGServer.withFreshSchema { url, store in
            let migrate = try await CLI.run(["migrate", "--store", url, "--json"], in: dir)
            #expect(migrate.status == 0, "\(migrate)")
            #expect(try migrate.json()["migrated"] as? Bool == true)
            #expect(!migrate.stdout.contains("--demo-tables"))

            var noops: [JobID] = []
            for index in 0..<3 {
                let result = try await CLI.run([
                    "enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "acme", "--key", "noop-\(index)", "--json",
                ], in: dir)
                #expect(result.status == 0, "\(result)")
                noops.append(try enqueuedID(result))
            }
            let again = try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "acme", "--key", "noop-0", "--json"], in: dir)
            #expect(try again.json()["inserted"] as? Bool == false, "the unique key holds across processes")
            let doomed = try enqueuedID(try await CLI.run([
                "enqueue", "--store", url, "--type", "demo.flaky", "--payload", #"{"transientRate": 0, "permanentRate": 1}"#, "--tenant", "globex", "--json",
            ], in: dir))

            let worker = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--poll-interval-ms", "100", "--worker-id", "pg-worker"], in: dir, name: "worker")
            defer { worker.killIfRunning() }
            try await eventually("the worker finished every job") {
                let done = try await store.jobs(JobFilter(states: [.completed, .dead]))
                return done.count == 4
            }
            worker.send(SIGTERM)
            #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.stderr)")
            #expect(worker.stderr.contains("worker starting"))
            #expect(!worker.stderr.contains("hasn't been called yet"), "no postgres-nio warning about an unstarted client")
            for id in noops { #expect(try await store.job(id)?.state == .completed) }
            #expect(try await store.job(doomed)?.state == .dead)

            let stats = try await CLI.run(["stats", "--store", url, "--json"], in: dir)
            #expect(stats.status == 0, "\(stats)")
            let statsJSON = try stats.json()
            #expect(statsJSON["total"] as? Int == 4)
            #expect(statsJSON["dead_letter"] as? Int == 1)
            #expect((statsJSON["store"] as? String)?.hasPrefix("postgres://") == true)

            let list = try await CLI.run(["jobs", "list", "--store", url, "--state", "completed", "--json"], in: dir)
            #expect(list.status == 0, "\(list)")
            #expect((try list.json()["jobs"] as? [[String: Any]])?.count == 3)
            let show = try await CLI.run(["jobs", "show", "\(noops[0])", "--store", url, "--json"], in: dir)
            #expect(show.status == 0, "\(show)")
            #expect((try show.json()["attempts"] as? [[String: Any]])?.first?["worker"] as? String == "pg-worker")

            let dlq = try await CLI.run(["dlq", "list", "--store", url, "--json"], in: dir)
            #expect(dlq.status == 0, "\(dlq)")
            #expect((try dlq.json()["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(doomed.rawValue)])
            let requeue = try await CLI.run(["dlq", "requeue", "\(doomed)", "--store", url, "--by", "alice", "--reason", "retry on pg"], in: dir)
            #expect(requeue.status == 0, "\(requeue)")
            #expect(try await store.job(doomed)?.state == .available)
            #expect(try await store.audit(of: doomed).first?.actor == "alice")
        }
    }

    @Test("limits, top, prune, schedules and jobs cancel work on a postgres:// store URL")
    func operatorCommandsOnPostgres() async throws {
        let dir = try TempDir()
        try await PGServer.withFreshSchema { url, store in
            var ids: [JobID] = []
            for index in 0..<3 {
                let result = try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "acme", "--key", "op-\(index)", "--json"], in: dir)
                #expect(result.status == 0, "\(result)")
                ids.append(try enqueuedID(result))
            }

            // limits set | list | remove
            let set = try await CLI.run(["limits", "set", "default", "--store", url, "--concurrency", "2", "--rate", "10/s", "--json"], in: dir)
            #expect(set.status == 0, "\(set)")
            #expect(try await store.queueLimits().map(\.queue) == ["default"])
            #expect(try await store.queueLimits().first?.concurrency == 2)
            let list = try await CLI.run(["limits", "list", "--store", url, "--json"], in: dir)
            #expect(list.status == 0, "\(list)")
            let queue = (try list.json()["limits"] as? [String: Any])?["default"] as? [String: Any]
            #expect(queue?["concurrency"] as? Int == 2 && queue?["waiting"] as? Int == 3, "\(list)")
            let remove = try await CLI.run(["limits", "remove", "default", "--store", url], in: dir)
            #expect(remove.status == 0, "\(remove)")
            #expect(try await store.queueLimits().isEmpty)
            let removeAgain = try await CLI.run(["limits", "remove", "default", "--store", url], in: dir)
            #expect(removeAgain.status != 0 && removeAgain.stderr.contains("has no limits"), "\(removeAgain)")

            // top
            let top = try await CLI.run(["top", "--store", url, "--iterations", "1", "--window", "10m"], in: dir)
            #expect(top.status == 0, "\(top)")
            #expect(top.stdout.contains("surety top · postgres://") && top.stdout.contains("3 waiting, 0 running"), "\(top)")
            #expect(!top.stdout.contains("SQLite"), "\(top)")

            // schedules list | pause | resume (a scheduler registered one)
            try await store.saveSchedules([ScheduleDefinition(
                name: "nightly", expression: "0 30 2 * * *", timeZone: "UTC", jobType: "demo.noop", queue: "default",
                tenant: .system, overlap: "skip", missed: "run_latest"
            )], now: Date())
            let schedules = try await CLI.run(["schedules", "list", "--store", url, "--json"], in: dir)
            #expect(schedules.status == 0, "\(schedules)")
            #expect(schedules.stdout.contains("\"nightly\""), "\(schedules)")
            let pause = try await CLI.run(["schedules", "pause", "nightly", "--store", url, "--by", "alice", "--reason", "maintenance", "--json"], in: dir)
            #expect(pause.status == 0, "\(pause)")
            #expect(try await store.schedules().first?.paused == true)
            #expect(try await store.schedules().first?.changedBy == "alice")
            let resume = try await CLI.run(["schedules", "resume", "nightly", "--store", url, "--by", "bob", "--reason", "done"], in: dir)
            #expect(resume.status == 0, "\(resume)")
            #expect(try await store.schedules().first?.paused == false)
            let unknown = try await CLI.run(["schedules", "pause", "nope", "--store", url, "--by", "alice", "--reason", "x"], in: dir)
            #expect(unknown.status != 0 && unknown.stderr.contains("no schedule named 'nope'"), "\(unknown)")

            // jobs cancel
            let cancel = try await CLI.run(["jobs", "cancel", "\(ids[0])", "--store", url, "--by", "alice", "--reason", "not needed", "--json"], in: dir)
            #expect(cancel.status == 0, "\(cancel)")
            #expect((try cancel.json()["cancelled"] as? [Int]) == [Int(ids[0].rawValue)], "\(cancel)")
            #expect(try await store.job(ids[0])?.state == .cancelled)
            #expect(try await store.audit(of: ids[0]).first?.actor == "alice")

            // prune: the cancelled job, once it is older than --keep-cancelled
            try await eventually("the cancelled job is past a one-second retention", timeout: .seconds(60)) {
                let dry = try await CLI.run(["prune", "--store", url, "--dry-run", "--json", "--keep-cancelled", "1s"], in: dir)
                return try dry.status == 0 && dry.json()["cancelled"] as? Int == 1
            }
            #expect(try await store.job(ids[0]) != nil, "a dry run deletes nothing")
            let prune = try await CLI.run(["prune", "--store", url, "--json", "--keep-cancelled", "1s"], in: dir)
            #expect(prune.status == 0, "\(prune)")
            #expect(try prune.json()["cancelled"] as? Int == 1, "\(prune)")
            #expect(try await store.job(ids[0]) == nil)
            #expect(try await store.job(ids[1])?.state == .available)
        }
    }

    @Test("a schema that holds no store, a wrong password and an unreachable server give clear errors, not hangs")
    func badPostgresStores() async throws {
        let dir = try TempDir()
        let base = try PGServer.requireURL()
        let missing = try PGServer.storeURL(schema: PGServer.freshSchema())
        let stats = try await CLI.run(["stats", "--store", missing], in: dir)
        #expect(stats.status != 0)
        #expect(stats.stderr.contains("no Surety store in schema"), "\(stats)")
        #expect(stats.stderr.contains("surety migrate"), "\(stats)")

        // Port 1 on the loopback refuses connections.
        let unreachable = try await CLI.run(["stats", "--store", "postgres://surety:s3cret@127.0.0.1:1/surety"], in: dir, timeout: .seconds(30))
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("127.0.0.1:1"), "\(unreachable)")
        #expect(!unreachable.stderr.contains("s3cret"), "the password leaked")

        // The test server trusts local logins, so an unknown database stands in for a refused login.
        var components = try #require(URLComponents(string: base))
        components.path = "/no_such_database_\(UInt32.random(in: 0...UInt32.max))"
        let wrongDatabase = try await CLI.run(["migrate", "--store", try #require(components.string)], in: dir, timeout: .seconds(30))
        #expect(wrongDatabase.status != 0)
        #expect(wrongDatabase.stderr.contains("no_such_database"), "\(wrongDatabase)")

        let demo = try await CLI.run(["demo", "--store", missing], in: dir)
        #expect(demo.status != 0)
        #expect(demo.stderr.contains("SQLite"), "\(demo)")
    }
}
