import ArgumentParser
import Foundation
import Surety
import SuretyAlerts
@testable import SuretyCLI
import Testing

// Review item 14 (reviews/reliability-2026-12.md): out-of-range durations on the command line
// give a usage error naming the flag and its range, never a crash.

@Suite("HardeningFlag: absurd durations are refused with a clear error, not a trap")
struct HardeningFlagTests {
    /// Runs `surety` and reports whether a signal ended it (the shared helper folds the two).
    private func run(_ arguments: [String], in dir: TempDir) async throws -> (outcome: ProcessExit.Outcome, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLI.executable())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        var environment = ProcessInfo.processInfo.environment
        environment["SURETY_STORE"] = nil
        process.environment = environment
        let stderrPath = dir.file("\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        let exit = ProcessExit(of: process)
        try process.run()
        guard let outcome = await exit.wait(timeout: .seconds(60)) else {
            process.terminate()
            _ = await exit.wait(timeout: .seconds(10))
            throw CLITestError("surety \(arguments) did not exit within 60 s")
        }
        return (outcome, (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }

    @Test("enqueue --delay 1e11 exits with a usage error naming --delay", arguments: ["1e11", "1e300"])
    func enqueueDelay(_ value: String) async throws {
        let dir = try TempDir()
        let (outcome, stderr) = try await run(["enqueue", "--store", dir.storeURL(), "--type", "demo.noop", "--payload", "{}", "--system", "--delay", value], in: dir)
        #expect(!outcome.signalled, "\(outcome)\n\(stderr)")
        #expect(outcome.status != 0, "\(outcome)\n\(stderr)")
        #expect(stderr.contains("--delay") && stderr.contains("between"), "\(stderr)")
    }

    @Test("worker flags beyond their range exit with a usage error naming the flag", arguments: [
        ["--lease-seconds", "1e12"], ["--shutdown-grace-seconds", "1e12"], ["--rescue-interval-seconds", "1e12"],
        ["--retention-interval", "1e12d"],
    ])
    func workerFlags(_ flag: [String]) async throws {
        let dir = try TempDir()
        let (outcome, stderr) = try await run(["worker", "--store", dir.storeURL(), "--demo-jobs"] + flag, in: dir)
        #expect(!outcome.signalled, "\(outcome)\n\(stderr)")
        #expect(outcome.status != 0, "\(outcome)\n\(stderr)")
        #expect(stderr.contains(flag[0]) && stderr.contains("between"), "\(stderr)")
    }

    @Test("prune --keep-completed 1e12d exits with a usage error naming the flag")
    func pruneAge() async throws {
        let dir = try TempDir()
        let (outcome, stderr) = try await run(["prune", "--store", dir.storeURL(), "--dry-run", "--keep-completed", "1e12d"], in: dir)
        #expect(!outcome.signalled, "\(outcome)\n\(stderr)")
        #expect(outcome.status != 0, "\(outcome)\n\(stderr)")
        #expect(stderr.contains("--keep-completed"), "\(stderr)")
    }

    @Test("TimeArguments refuses durations and ages beyond the range, naming the option and the range")
    func timeArguments() throws {
        for text in ["1e12d", "1e300s", "4000y"] {
            #expect(throws: ValidationError.self) { try TimeArguments.duration(text, option: "--older-than") }
        }
        do {
            _ = try TimeArguments.duration("1e12d", option: "--older-than")
            Issue.record("1e12d was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("--older-than") && error.message.contains("between"), "\(error.message)")
        }
        do {
            _ = try TimeArguments.time("1e12d", option: "--enqueued-before", now: Date())
            Issue.record("1e12d was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("--enqueued-before") && error.message.contains("between"), "\(error.message)")
        }
        #expect(try TimeArguments.duration("36h", option: "--x") == .seconds(36 * 3600))
        #expect(try TimeArguments.duration("36500d", option: "--x") == .seconds(36_500 * 86_400), "100 years is allowed")
    }
}
