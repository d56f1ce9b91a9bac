import Foundation
import Surety
import SuretySQLite
import Testing

@Suite("surety demo")
struct DemoTests {
    @Test("the demo runs end to end, with a worker crash, and reports PASS")
    func demoPasses() async throws {
        let dir = try TempDir()
        let seed = UInt64.random(in: 1...999_999)
        print("DemoTests.demoPasses: seed \(seed) (surety demo --jobs 80 --seed \(seed))")
        let result = try await CLI.run([
            "demo", "--store", dir.storeURL("demo.sqlite"), "--jobs", "80", "--seed", "\(seed)", "--deadline-seconds", "45",
        ], in: dir, timeout: .seconds(90))
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("RESULT: PASS"), "\(result)")
        #expect(result.stdout.contains("PASS  no job lost: "), "\(result)")
        #expect(result.stdout.contains("PASS  worker crash: "), "\(result)")
        #expect(result.stdout.contains("PASS  money conserved"), "\(result)")
        #expect(result.stdout.contains("PASS  exactly one email per completed email job"), "\(result)")
        #expect(result.stdout.contains("Dead-letter inbox"), "\(result)")
        // Payload secrets (card-…, tok-…) never appear in the report.
        #expect(!result.stdout.contains("card-"), "\(result)")
        #expect(!result.stdout.contains("tok-"), "\(result)")

        // The store it leaves behind is consistent with the report.
        let store = try SQLiteStore(path: dir.file("demo.sqlite"))
        let unfinished = try await store.jobs(JobFilter(states: [.scheduled, .available, .running, .retrying], limit: 10))
        #expect(unfinished.isEmpty)
        let lost = try await store.jobs(JobFilter(limit: 1000)).filter { $0.attempt > 1 && $0.type == "demo.sleep" }
        #expect(!lost.isEmpty, "the killed worker's sleep jobs needed a second attempt")
    }

    @Test("the demo refuses an explicit store file that exists")
    func demoRefusesExistingStore() async throws {
        let dir = try TempDir()
        _ = FileManager.default.createFile(atPath: dir.file("taken.sqlite"), contents: Data("keep me".utf8))
        let result = try await CLI.run(["demo", "--store", dir.storeURL("taken.sqlite"), "--no-crash"], in: dir)
        #expect(result.status != 0)
        #expect(result.stderr.contains("fresh store"), "\(result)")
        #expect(try String(contentsOfFile: dir.file("taken.sqlite"), encoding: .utf8) == "keep me")
    }
}
