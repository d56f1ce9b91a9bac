import Foundation
import Surety
import SuretyPostgres
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `surety serve --store postgres://…?schema=…`: the dashboard process on the real PostgreSQL.
@Suite("surety serve on PostgreSQL", .enabled(if: PGServer.enabled))
struct ServePostgresTests {
    @Test("surety serve on a postgres:// URL serves the overview (store aggregation), jobs, schedules and alerts over HTTP")
    func serveOnPostgres() async throws {
        let dir = try TempDir()
        try await PGServer.withFreshSchema { url, store in
            let jobs = try await store.enqueue([
                NewJob(type: "demo.noop", queue: "default", priority: 0, tenant: try TenantID("acme"), payload: "{}", runAt: Date(), enqueuedAt: Date(), maxAttempts: 3),
                NewJob(type: "demo.email", queue: "email", priority: 0, tenant: try TenantID("acme"), payload: "{}",
                       runAt: Date().addingTimeInterval(3600), enqueuedAt: Date(), maxAttempts: 3),
            ])
            try await store.saveSchedules([ScheduleDefinition(name: "hourly-sync", expression: "@hourly", timeZone: "UTC", jobType: "demo.noop",
                                                              queue: "default", tenant: .system, overlap: "skip", missed: "skip")], now: Date())
            let token = "pg-dashboard-token-123"
            let server = try SuretyProcess(["serve", "--store", url, "--port", "0", "--token", token], in: dir, name: "serve")
            defer { server.killIfRunning() }
            var base = ""
            try await eventually("the dashboard listens", timeout: .seconds(120)) {
                if server.hasExited { throw CLITestError("surety serve exited: \(server.stderr)") }
                guard let line = server.stdout.split(separator: "\n").first(where: { $0.hasPrefix("dashboard: http://") }) else { return false }
                base = String(line.dropFirst("dashboard: ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
                return true
            }
            func get(_ path: String) async throws -> (Int, [String: Any]) {
                var request = URLRequest(url: URL(string: base + path)!)
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                let (data, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
            }
            let (status, overview) = try await get("/api/overview")
            #expect(status == 200, "\(overview)")
            #expect(overview["aggregated"] as? Bool == true, "PostgreSQL's JobStatisticsStore answers the overview")
            let depth = (overview["all"] as? [String: Any])?["depth"] as? [String: Int]
            #expect(depth?["available"] == 1 && depth?["scheduled"] == 1, "\(String(describing: depth))")
            let (_, listed) = try await get("/api/jobs")
            #expect(Set((listed["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int64 }) == Set(jobs.map(\.id.rawValue)))
            let (_, schedules) = try await get("/api/schedules")
            let schedule = (schedules["schedules"] as? [[String: Any]])?.first
            #expect(schedule?["name"] as? String == "hourly-sync" && (schedule?["next_runs"] as? [String])?.count == 3)
            let (alertStatus, alerts) = try await get("/api/alerts")
            #expect(alertStatus == 200 && (alerts["alerts"] as? [Any])?.isEmpty == true)
            server.send(SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(30)) == 0, "\(server.stderr)")
        }
    }
}
