import Foundation
import PostgresNIO
import Surety
@testable import SuretyCLI
import SuretyPostgres
import Testing

/// `surety prove`: the crash-point matrix of docs/guarantees.md (issue 17), run as a user runs
/// it. Every crash point must be reached by a real SIGKILL of a real process, and every count of
/// the table that must be zero is zero; the given store is never touched, and the scenario
/// stores are removed.
///
/// A smaller run than the published one (12 jobs, 2 kills per point); the full run is
/// `scripts/guarantees.sh`. Reproduce with `SURETY_PROVE_SEED=<seed>` (printed).
@Suite("surety prove (crash points, SIGKILL)")
struct ProveTests {
    static func seed() -> UInt64 {
        ProcessInfo.processInfo.environment["SURETY_PROVE_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
    }

    /// Runs `surety prove --format json`; checks that every point was hit and held.
    static func prove(store: String, in dir: TempDir, name: String) async throws -> [[String: Any]] {
        let seed = Self.seed()
        print("\(name): seed \(seed) (rerun with SURETY_PROVE_SEED=\(seed))")
        let result = try await CLI.run(["prove", "--store", store, "--jobs", "12", "--rounds", "2", "--seed", "\(seed)", "--format", "json"],
                                       in: dir, timeout: .seconds(600))
        print("\(name): \(result.stderr)")
        #expect(result.status == 0, "\(result)")
        let report = try result.json()
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.compactMap { $0["point"] as? String } == CrashPoint.allCases.map(\.rawValue), "every crash point, in order")
        for row in rows {
            let point = row["point"] as? String ?? "?"
            #expect((row["kills"] as? Int ?? 0) >= 1, "\(point): a process died of SIGKILL at the point")
            for count in ["lost", "duplicateEffects", "concurrentRuns", "tenantMismatches", "unresolvedInDoubt",
                          "doneWithoutEffect", "unaccountedAttempts", "unauditedChanges"] {
                #expect(row[count] as? Int == 0, "\(point): \(count) = \(row[count] ?? "missing"); problems: \(row["problems"] ?? "")")
            }
        }
        #expect(report["holds"] as? Bool == true)
        return rows
    }

    @Test("prove on SQLite: every crash point is hit by a real SIGKILL and nothing is lost, duplicated or mixed; the given store is untouched")
    func proveOnSQLite() async throws {
        let dir = try TempDir()
        let target = dir.path + "/mine.sqlite"
        _ = try await Self.prove(store: "sqlite:\(target)", in: dir, name: "ProveTests.sqlite")
        #expect(!FileManager.default.fileExists(atPath: target), "the given store was never created or opened")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("surety-prove") }
        #expect(left.isEmpty, "scenario files removed: \(left)")
    }

    @Test("prove on PostgreSQL: every crash point is hit by a real SIGKILL and nothing is lost, duplicated or mixed; its schemas are dropped",
          .enabled(if: PGServer.enabled))
    func proveOnPostgres() async throws {
        let dir = try TempDir()
        try await PGServer.withFreshSchema { url, store in
            _ = try await Self.prove(store: url, in: dir, name: "ProveTests.postgres")
            let left = try await store.client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'surety_prove_%'")
                .collect().map { try $0.decode(String.self) }
            #expect(left.isEmpty, "scenario schemas dropped: \(left)")
        }
    }

    @Test("prove and worker refuse bad options with a usage error naming them, and create nothing", arguments: [
        (["prove", "--point", "effect.nope"], "unknown crash point 'effect.nope'"),
        (["prove", "--jobs", "3"], "--jobs must be between 6 and 2000"),
        (["prove", "--rounds", "0"], "--rounds must be between 1 and 20"),
        (["worker", "--demo-jobs", "--metrics-port", "70000"], "--metrics-port must be between 0 and 65535"),
    ])
    func badOptions(arguments: [String], message: String) async throws {
        let dir = try TempDir()
        let result = try await CLI.run(arguments + ["--store", dir.storeURL()], in: dir)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("sqlite") }.isEmpty, "no store created")
    }

    /// The checks can fail: a store and provider records showing each kind of violation give
    /// each count.
    @Test("prove's checks count lost jobs, duplicate effects, concurrent runs, tenant mix-ups, done-without-effect and unaccounted attempts")
    func checksCanFail() async throws {
        let store = MemoryStore()
        let acme = try TenantID("acme")
        let provider = "http://127.0.0.1:9"
        var random = ProveRandom(seed: 1)
        var workload = ProveWorkload(provider: provider, random: &random, jobs: 6, deadOnce: false, workflowHeavy: false)
        workload.workflows = []
        workload.lines = workload.lines.filter { $0.type == ProveCharge.name }.prefix(3).map { line in
            var line = line
            line.tenant = acme
            return line
        }
        let queue = JobQueue(store: store, registry: ProveJobs.registry, logger: Logs.silent("test"))
        var ids: [JobID] = []
        for line in workload.lines { ids.append(try await queue.enqueue(type: line.type, payload: line.payload, tenant: line.tenant, options: line.options).id) }
        let now = Date()
        let claimed = try await store.claim(ClaimRequest(queues: [ProveJobs.queue], limit: 3, worker: "w", now: now, leaseUntil: now.addingTimeInterval(60)))
        #expect(claimed.count == 3)
        // Jobs 1 and 2 completed; job 3 left running (lost).
        for job in claimed.prefix(2) {
            _ = try await store.finish([AttemptFinish(lease: job.lease, attempt: job.attempt, worker: "w", startedAt: now, endedAt: now, outcome: .succeeded, next: .completed)])
        }
        var records = ProveProvider.Records()
        // Job 1's charge performed twice, once for the wrong tenant, with two requests at once.
        records.performances = [
            .init(kind: "charge", job: ids[0].rawValue, key: "k1", tenant: "acme", expectedTenant: "acme"),
            .init(kind: "charge", job: ids[0].rawValue, key: "k2", tenant: "globex", expectedTenant: "acme"),
        ]
        records.concurrentJobs = [ids[0].rawValue]
        // Job 2 completed without any performance.
        var row = ProveRow(store: "memory", point: CrashPoint.effectPerformed.rawValue, attack: "")
        row.kills = 1
        try await ProveChecks.check(&row, store: store, workload: workload, acknowledged: [:], provider: records)
        #expect(row.lost == 1, "\(row.problems)")
        #expect(row.duplicateEffects == 1)
        #expect(row.concurrentRuns == 1)
        #expect(row.tenantMismatches == 1)
        #expect(row.doneWithoutEffect == 1)
        #expect(!row.holds)
    }
}
