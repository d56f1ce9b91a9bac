import Foundation
import Surety
import SuretySQLite
import Testing

@Suite("surety jobs cancel")
struct JobsCancelTests {
    @Test("jobs cancel cancels a waiting job, requests a running one, skips a finished one, audits each")
    func cancel() async throws {
        let dir = try TempDir()
        let store = try await openStore(dir)
        let now = Date()
        let ids = try await store.enqueue([
            NewJob(type: "demo.noop", queue: "default", priority: 0, tenant: .system, payload: "{}", runAt: now, enqueuedAt: now, maxAttempts: 3),
            NewJob(type: "demo.noop", queue: "default", priority: 0, tenant: .system, payload: "{}", runAt: now.addingTimeInterval(3600), enqueuedAt: now, maxAttempts: 3),
        ]).map(\.id)
        let running = try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "w1", now: now, leaseUntil: now.addingTimeInterval(60)))
        #expect(running.map(\.id) == [ids[0]])

        let result = try await CLI.run([
            "jobs", "cancel", "\(ids[0].rawValue)", "\(ids[1].rawValue)", "--store", dir.storeURL(),
            "--by", "ops@example.com", "--reason", "customer asked", "--json",
        ], in: dir)
        #expect(result.status == 0, "\(result)")
        let json = try result.json()
        #expect(json["requested"] as? [Int] == [Int(ids[0].rawValue)])
        #expect(json["cancelled"] as? [Int] == [Int(ids[1].rawValue)])
        #expect(try await store.job(ids[1])?.state == .cancelled)
        let report = try await store.heartbeatReportingCancellations(running.map(\.lease), until: now.addingTimeInterval(90))
        #expect(report.cancelRequested.map(\.reason) == ["customer asked"])
        #expect(try await store.audit(of: ids[0]).map(\.action) == ["cancel_request"])

        let again = try await CLI.run(["jobs", "cancel", "\(ids[1].rawValue)", "--store", dir.storeURL(), "--by", "ops", "--reason", "again"], in: dir)
        #expect(again.status == 1 && again.stdout.contains("skipped job \(ids[1])"), "\(again)")
        let blank = try await CLI.run(["jobs", "cancel", "\(ids[1].rawValue)", "--store", dir.storeURL(), "--by", "ops", "--reason", " "], in: dir)
        #expect(blank.status == 2, "\(blank)")
    }
}
