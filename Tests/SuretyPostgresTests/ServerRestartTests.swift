import Foundation
import Logging
import PostgresNIO
import Surety
import SuretyAlerts
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

/// A job that counts its runs.
struct RestartProbe: Job {
    static let name = "test.restart-probe"
    static let options = JobOptions(maxAttempts: 10, backoff: .constant(.milliseconds(200)))

    final class Runs: Sendable {
        private let runs = Mutex<[JobID: Int]>([:])
        func record(_ id: JobID) { runs.withLock { $0[id, default: 0] += 1 } }
        var distinct: Int { runs.withLock { $0.count } }
        var twice: [JobID] { runs.withLock { $0.filter { $0.value > 1 }.map(\.key) } }
    }

    func run(_ context: JobContext) async throws {
        try context.dependency(Runs.self).record(context.id)
    }
}

/// A throwaway PostgreSQL cluster of this test's own (scripts/postgres.sh in a temporary folder).
struct OwnServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory: URL

    struct ScriptFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String { "scripts/postgres.sh \(command) exited with \(status): \(output)" }
    }

    /// Runs `scripts/postgres.sh COMMAND DIR` without blocking a thread; returns its stdout.
    @discardableResult
    func script(_ command: String) async throws -> String {
        let output = directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent)-\(command).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // The server that `start` and `resume` leave running must not inherit this process's
        // descriptors: Foundation notices the child's exit through one of them, and would wait
        // for the server to exit too. So every descriptor above 2 is closed before the script runs.
        process.arguments = [
            "-c", #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec bash "$0" "$@""#,
            Self.root.appendingPathComponent("scripts/postgres.sh").path, command, directory.path,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["SURETY_TEST_POSTGRES_URL"] = nil // our own server, not the shared one
        // Durable settings: with synchronous_commit=off a crash may drop commits the server had
        // already acknowledged (a claim, a completion), which would make a job run twice for
        // reasons outside Surety.
        environment["SURETY_POSTGRES_DURABLE"] = "1"
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let exit = ProcessExit(of: process)
        try process.run()
        // pg_ctl's own waits are bounded (60 s), so a script still running after 180 s is stuck.
        let outcome = await exit.wait(timeout: .seconds(180))
        // The Process must outlive the wait: a released Process never calls its terminationHandler.
        withExtendedLifetime(process) {}
        guard let outcome else {
            process.terminate()
            throw ScriptFailed(command: command, status: -1, output: "still running after 180 s; stopped")
        }
        let status = outcome.status
        try handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        guard status == 0 else { throw ScriptFailed(command: command, status: status, output: text) }
        return text
    }
}

// Needs PostgreSQL binaries (scripts/test installs them); starts and restarts its own server.
@Suite("PostgreSQL server restart", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresServerRestartTests {
    /// One queue takes the prepared one-queue claim; two queues the claim of several queues,
    /// which now also waits for its commit to be confirmed (review item 8).
    @Test("the server stops mid-run and comes back: workers log the outage, back off, reconnect, and every job completes once",
          arguments: [["default"], ["default", "other"]])
    func serverRestart(queues: [String]) async throws {
        let server = OwnServer(directory: FileManager.default.temporaryDirectory.appendingPathComponent("surety-restart-\(UUID().uuidString)"))
        let started = try await server.script("start")
        let url = try #require(started.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }).map(String.init))
        do {
            try await run(url: url, server: server, queues: queues)
        } catch {
            _ = try? await server.script("stop")
            try? FileManager.default.removeItem(at: server.directory)
            throw error
        }
        try await server.script("stop")
        try? FileManager.default.removeItem(at: server.directory)
    }

    func run(url: String, server: OwnServer, queues: [String]) async throws {
        let began = ContinuousClock.now
        let jobs = 3000
        /// For the report: the outage and the jobs that ran before it.
        var outageSeconds = 0.0
        var ranBeforeOutage = 0
        var configuration = try PostgresStore.Configuration(url: url, schema: "restart")
        configuration.maximumConnections = 6
        configuration.connectTimeout = .seconds(5)
        let capture = LogCapture()
        let runs = RestartProbe.Runs()
        let events = EventRecorder()
        let phase = capture.logger(label: "test.phase", level: .info)
        try await PostgresStore.withStore(configuration: configuration, logger: capture.logger(label: "surety.postgres", level: ProcessInfo.processInfo.environment["SURETY_TEST_TRACE"] == "1" ? .trace : .info)) { store in
            try await store.migrate()
            let now = Date()
            for chunk in stride(from: 0, to: jobs, by: 500) {
                _ = try await store.enqueue((chunk..<min(jobs, chunk + 500)).map { _ in
                    NewJob(type: RestartProbe.name, queue: queues[chunk / 500 % queues.count], priority: 0, tenant: .system, payload: "{}", runAt: now, enqueuedAt: now, maxAttempts: 10)
                })
            }
            var dependencies = JobDependencies()
            dependencies.register(runs)
            let worker = Worker(
                store: store, registry: JobRegistry([RestartProbe.self]),
                configuration: WorkerConfiguration(
                    queues: queues, concurrency: 8, leaseDuration: .seconds(20), heartbeatInterval: .seconds(2), rescueInterval: .seconds(1),
                    workerID: "restart-w1", onEvent: events.record
                ),
                dependencies: dependencies, logger: capture.logger(label: "surety.worker", level: .info)
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                try await eventuallyTrue("a quarter of the jobs ran", timeout: .seconds(120)) { runs.distinct >= jobs / 4 }

                // Stop the server hard (SIGQUIT to every backend, no checkpoint) in the middle of the run.
                phase.info("phase: killing the server")
                try await server.script("kill")
                phase.info("phase: server killed")
                let outageStarted = ContinuousClock.now
                let ranBefore = runs.distinct
                try await eventuallyTrue("the worker logs the outage", timeout: .seconds(60)) {
                    capture.entries.contains { $0.level >= .warning && ($0.message.contains("claim failed") || $0.message.contains("LISTEN connection lost")) }
                }
                // While the server is down, calls wait in the pool (postgres-nio retries connecting
                // with its own backoff) or fail and back off (StoreBackoff); none spins.
                phase.info("phase: resuming the server")
                try await server.script("resume")
                phase.info("phase: server resumed")
                let outage = ContinuousClock.now - outageStarted

                try await eventuallyTrue("every job ran", timeout: .seconds(180)) { runs.distinct == jobs }
                try await eventuallyTrue("every job is stored completed", timeout: .seconds(60)) {
                    // Through the store's guarded path (queryIfOpen): a query the client wrote to a
                    // connection the restart closed would never be answered, and this wait has no
                    // other deadline while the query runs.
                    try await store.query("test: completed count", "SELECT count(*) FROM restart.surety_jobs WHERE state = 'completed'") { rows in
                        try await rows.collect { try $0[0].decode(Int.self) }
                    }[0] == jobs
                }
                phase.info("phase: every job completed; draining the worker")
                worker.beginDrain()
                try await group.waitForAll()
                phase.info("phase: worker stopped")

                let claimFailures = capture.entries.filter { $0.message.contains("claim failed") }.count
                outageSeconds = Double(outage.components.seconds) + Double(outage.components.attoseconds) / 1e18
                ranBeforeOutage = ranBefore
                print("server restart: outage \(outageSeconds) s; \(ranBefore) jobs ran before it; \(claimFailures) failed claims logged; \(runs.twice.count) jobs ran twice")
                // Backoff, not spinning: 100 ms doubling to 5 s gives about 7 tries in the first
                // 10 s and one per 5 s after; spinning would log thousands.
                #expect(claimFailures <= 10 + Int(outageSeconds / 2), "the worker retried \(claimFailures) times in \(outageSeconds) s")
                #expect(capture.entries.contains { $0.message.contains("store reachable again; claiming resumed") || $0.message.contains("LISTEN connection re-established") },
                        "the worker logs that it reconnected")
            }
            // Nothing lost, nothing completed twice: each job is completed, once, and a job whose
            // body ran twice did so only because an attempt was lost in the outage (at-least-once).
            let states = try await store.query("test: states", "SELECT state, count(*) FROM restart.surety_jobs GROUP BY state") { rows in
                try await rows.collect { (try $0[0].decode(String.self), try $0[1].decode(Int.self)) }
            }
            #expect(Dictionary(uniqueKeysWithValues: states) == ["completed": jobs])
            var twiceWithoutLostAttempt = 0
            for id in runs.twice {
                let outcomes = try await store.attempts(of: id).map(\.outcome)
                #expect(outcomes.contains(.lost), "job \(id) ran twice without a lost attempt: \(outcomes)")
                if !outcomes.contains(.lost) { twiceWithoutLostAttempt += 1 }
            }

            // The run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), from the counts above.
            // RestartProbe counts runs, not when they ran: concurrent runs are not observed here.
            let completed = Dictionary(uniqueKeysWithValues: states)["completed"] ?? 0
            let lost = max(0, jobs - completed)
            GuaranteeReport(
                fault: "server restart mid-run (\(queues.count == 1 ? "one queue" : queues.count == 2 ? "two queues" : "\(queues.count) queues"))", jobs: jobs, faults: 1, lost: lost,
                duplicateEffects: twiceWithoutLostAttempt, concurrentRuns: nil, tenantMismatches: nil, seed: nil,
                seconds: GuaranteeReport.seconds(since: began),
                holds: lost == 0 && twiceWithoutLostAttempt == 0,
                notes: "\(GuaranteeReport.singleTenant); duplicate effects: jobs run twice without a lost attempt; \(runs.twice.count) ran twice after one (at-least-once); concurrent runs not observed (the job counts its runs); server killed hard (no checkpoint) after \(ranBeforeOutage) jobs, down \(String(format: "%.1f", outageSeconds)) s; not seeded"
            ).append()
        }
    }
}
