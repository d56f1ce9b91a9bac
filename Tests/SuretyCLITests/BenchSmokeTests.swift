import Foundation
import Testing

/// The CI smoke run of `surety bench`: small N, debug build, so the command keeps working. No
/// timing claims: only the shape of the JSON and that every job was drained.
@Suite("surety bench smoke run")
struct BenchSmokeTests {
    @Test("bench --jobs 200 --json prints every figure for every workload and leaves no scenario files")
    func smoke() async throws {
        let dir = try TempDir()
        let result = try await CLI.run(
            ["bench", "--store", dir.storeURL("bench.sqlite"), "--jobs", "200", "--concurrency", "4,32",
             "--pickup-samples", "10", "--json"],
            in: dir, timeout: .seconds(240)
        )
        #expect(result.status == 0, "\(result)")
        let json = try result.json()
        #expect(json["store"] as? String == "sqlite")
        #expect(json["jobs"] as? Int == 200)
        let machine = try #require(json["machine"] as? [String: Any])
        #expect((machine["cpus"] as? Int ?? 0) >= 1)
        #expect((machine["load_at_start"] as? [Double])?.count == 3)
        #expect(machine["build"] as? String == "debug")

        let workloads = try #require(json["workloads"] as? [[String: Any]])
        #expect(workloads.compactMap { $0["workload"] as? String } == ["noop", "effect", "payload1k"])
        for workload in workloads {
            let name = workload["workload"] as? String ?? "?"
            for key in ["bulk_enqueue", "bulk_enqueue_client"] {
                let rate = try #require(workload[key] as? [String: Any], "\(name) \(key)")
                #expect(rate["jobs"] as? Int == 200)
                #expect((rate["jobs_per_second"] as? Double ?? 0) > 0)
            }
            let single = try #require(workload["enqueue_one_at_a_time"] as? [[String: Any]])
            #expect(single.compactMap { $0["producers"] as? Int } == [1, 16])
            let drains = try #require(workload["drain"] as? [[String: Any]])
            #expect(drains.compactMap { $0["concurrency"] as? Int } == (name == "noop" ? [4, 32] : [32]))
            for drain in drains {
                let rate = try #require(drain["rate"] as? [String: Any])
                #expect(rate["jobs"] as? Int == 200, "\(name): every job drained")
                #expect((drain["peak_memory_mib"] as? Double ?? 0) > 0)
                #expect((drain["cpu_microseconds_per_job"] as? Double ?? 0) > 0)
            }
            let pickup = try #require(workload["pickup"] as? [String: Any])
            #expect(pickup["samples"] as? Int == 10)
            let p50 = try #require(pickup["p50_milliseconds"] as? Double)
            let max = try #require(pickup["max_milliseconds"] as? Double)
            #expect(p50 > 0 && p50 <= max)
        }
        // Default backlogs: --jobs and 10 x --jobs, then the smallest with the largest's completed rows.
        let backlogs = try #require(json["backlogs"] as? [[String: Any]])
        #expect(backlogs.compactMap { $0["backlog"] as? Int } == [200, 2000, 200])
        #expect(backlogs.compactMap { $0["retained_completed"] as? Int } == [0, 0, 2000])

        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("bench-") }
        #expect(left.isEmpty, "scenario files left behind: \(left)")
    }

    @Test("bench refuses bad options with a usage error")
    func badOptions() async throws {
        let dir = try TempDir()
        for arguments in [["--jobs", "0"], ["--concurrency", "0"], ["--workloads", "nope"], ["--backlogs", "ten"]] {
            let result = try await CLI.run(["bench", "--store", dir.storeURL()] + arguments, in: dir)
            #expect(result.status == 2, "\(arguments): \(result)")
        }
    }
}
