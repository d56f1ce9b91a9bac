import Foundation
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real worker process is killed with SIGKILL mid-job; another process rescues the job after
/// its lease expires and completes it, and the history shows the lost attempt.
@Suite("Worker crash (multi-process)")
struct CrashTests {
    @Test("a job of a SIGKILLed worker is rescued and completed by another worker process")
    func killedWorkersJobIsRescued() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let enqueue = try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.sleep", "--payload", #"{"milliseconds": 600000, "attempts": 1}"#,
            "--tenant", "acme", "--json",
        ], in: dir)
        #expect(enqueue.status == 0, "\(enqueue)")
        let id = try enqueuedID(enqueue)
        let store = try await openStore(dir)

        let victim = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--lease-seconds", "2", "--rescue-interval-seconds", "1",
            "--poll-interval-ms", "100", "--worker-id", "victim",
        ], in: dir, name: "victim")
        defer { victim.killIfRunning() }

        // The job runs under the victim: it logged the attempt's start and the row says so.
        try await eventually("the job runs under the victim worker") {
            let job = try await store.job(id)
            return job?.state == .running && job?.attemptedBy == "victim"
        }
        try await eventually("the victim logged the attempt start") {
            victim.stderr.contains("job attempt started") && victim.stderr.contains("job_id=\(id)")
        }
        victim.send(SIGKILL)
        let victimStatus = try await victim.waitForExit()
        #expect(victimStatus == SIGKILL, "killed by SIGKILL")
        #expect(try await store.job(id)?.state == .running, "still leased to the dead worker until the lease expires")

        let rescuer = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--lease-seconds", "2", "--rescue-interval-seconds", "1",
            "--poll-interval-ms", "100", "--worker-id", "rescuer",
        ], in: dir, name: "rescuer")
        defer { rescuer.killIfRunning() }

        try await eventually("the job is completed", timeout: .seconds(30)) {
            try await store.job(id)?.state == .completed
        }
        let attempts = try await store.attempts(of: id)
        #expect(attempts.count == 2, "\(attempts)")
        let lost = try #require(attempts.first)
        #expect(lost.attempt == 1)
        #expect(lost.outcome == .lost)
        #expect(lost.worker == "victim")
        #expect(lost.error?.type == "LeaseExpired")
        let final = try #require(attempts.last)
        #expect(final.attempt == 2)
        #expect(final.outcome == .succeeded)
        #expect(final.worker == "rescuer")

        // A graceful stop: SIGTERM drains and exits 0.
        rescuer.send(SIGTERM)
        let rescuerStatus = try await rescuer.waitForExit(timeout: .seconds(30))
        #expect(rescuerStatus == 0, "\(rescuer.stderr)")
        #expect(rescuer.stderr.contains("rescued job from a vanished worker"))
        #expect(rescuer.stderr.contains("worker stopped"))

        // The operator's view shows the lost attempt too.
        let show = try await CLI.run(["jobs", "show", "\(id)", "--store", url, "--json"], in: dir)
        #expect(show.status == 0, "\(show)")
        let history = try #require(try show.json()["attempts"] as? [[String: Any]])
        #expect(history.compactMap { $0["outcome"] as? String } == ["lost", "succeeded"])
        #expect(history.compactMap { $0["worker"] as? String } == ["victim", "rescuer"])
    }
}
