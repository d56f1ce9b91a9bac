import Foundation
import Surety
import SuretySQLite
import Testing

@Suite("surety schedules")
struct SchedulesCommandTests {
    @Test("schedules list shows next runs; pause and resume record who and why; unknown names fail clearly")
    func listPauseResume() async throws {
        let dir = try TempDir()
        let store = try await openStore(dir)
        try await store.saveSchedules([
            ScheduleDefinition(name: "nightly-report", expression: "0 30 2 * * *", timeZone: "Europe/Berlin", jobType: "demo.noop", queue: "default", tenant: .system, overlap: "skip", missed: "run_latest"),
        ], now: Date())

        let list = try await CLI.run(["schedules", "list", "--store", dir.storeURL(), "--json"], in: dir)
        #expect(list.status == 0, "\(list)")
        let parsed = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        let first = try #require(parsed?.first)
        #expect(first["name"] as? String == "nightly-report" && first["paused"] as? Bool == false)
        let runs = try #require(first["next_runs"] as? [String])
        #expect(runs.count == 3)
        #expect(runs.allSatisfy { $0.contains("T00:30:00") || $0.contains("T01:30:00") }, "02:30 in Berlin is 00:30 or 01:30 UTC: \(runs)")

        let pause = try await CLI.run(["schedules", "pause", "nightly-report", "--store", dir.storeURL(), "--by", "ops", "--reason", "provider outage"], in: dir)
        #expect(pause.status == 0 && pause.stdout.contains("paused schedule nightly-report"), "\(pause)")
        let text = try await CLI.run(["schedules", "list", "--store", dir.storeURL()], in: dir)
        #expect(text.stdout.contains("paused by ops") && text.stdout.contains("provider outage"), "\(text)")
        #expect(try await store.schedules().first?.paused == true)

        let resume = try await CLI.run(["schedules", "resume", "nightly-report", "--store", dir.storeURL(), "--by", "ops", "--reason", "fixed"], in: dir)
        #expect(resume.status == 0 && resume.stdout.contains("resumed"), "\(resume)")
        #expect(try await store.schedules().first?.paused == false)

        let unknown = try await CLI.run(["schedules", "pause", "nope", "--store", dir.storeURL(), "--by", "ops", "--reason", "x"], in: dir)
        #expect(unknown.status == 1 && unknown.stderr.contains("no schedule named 'nope'"), "\(unknown)")
    }
}
