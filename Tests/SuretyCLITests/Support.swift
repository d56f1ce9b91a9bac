import Foundation
import GRDB
import Surety
import SuretyAlerts
import SuretySQLite
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary folder per test (tests run in parallel), removed when the value is released.
final class TempDir: Sendable {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("surety-cli-tests")
        path = (base as NSString).appendingPathComponent("\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func storeURL(_ name: String = "store.sqlite") -> String { "sqlite:" + file(name) }
}

/// The result of running `surety` to completion.
struct CLIResult: Sendable, CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)" }

    /// Standard output parsed as JSON.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        guard let dictionary = object as? [String: Any] else { throw CLITestError("stdout is not a JSON object: \(stdout)") }
        return dictionary
    }
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A running `surety` process with its output going to files.
final class SuretyProcess: @unchecked Sendable {
    // `Process` is touched only from `init` and `pid`; its termination handler writes `exit`.
    private let process = Process()
    private let exit: ProcessExit
    let stdoutPath: String
    let stderrPath: String

    /// - Parameter executable: Default: the `surety` executable.
    init(_ arguments: [String], in dir: TempDir, name: String = UUID().uuidString, environment: [String: String]? = nil, executable: String? = nil) throws {
        stdoutPath = dir.file("\(name).stdout")
        stderrPath = dir.file("\(name).stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try executable ?? CLI.executable())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        } else {
            var environment = ProcessInfo.processInfo.environment
            environment["SURETY_STORE"] = nil
            process.environment = environment
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        exit = ProcessExit(of: process)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var hasExited: Bool { exit.hasExited }

    func send(_ signal: Int32) {
        guard !hasExited else { return }
        _ = kill(pid, signal)
    }

    /// Kills the process if it still runs (for `defer`).
    func killIfRunning() { send(SIGKILL) }

    /// The exit status (the terminating signal's number when killed by one).
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        guard let outcome = await exit.wait(timeout: timeout) else {
            send(SIGKILL)
            throw CLITestError("surety \(process.arguments ?? []) did not exit within \(timeout)")
        }
        return outcome.status
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

enum CLI {
    /// Runs `surety` with `arguments` to completion in `dir`.
    static func run(_ arguments: [String], in dir: TempDir, environment: [String: String]? = nil, timeout: Duration = .seconds(90)) async throws -> CLIResult {
        let process = try SuretyProcess(arguments, in: dir, environment: environment)
        defer { process.killIfRunning() }
        let status = try await process.waitForExit(timeout: timeout)
        return CLIResult(status: status, stdout: process.stdout, stderr: process.stderr)
    }

    /// The `surety` executable built with the tests: next to the test binary (Linux `swift test`
    /// puts both in .build/<triple>/debug), else searched for under the package's build folders.
    static func executable() throws -> String {
        let manager = FileManager.default
        var directories: [String] = []
        if let resolved = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((resolved as NSString).deletingLastPathComponent)
        }
        if let first = CommandLine.arguments.first {
            let absolute = first.hasPrefix("/") ? first : manager.currentDirectoryPath + "/" + first
            var directory = (absolute as NSString).deletingLastPathComponent
            directories.append(directory)
            // macOS: …/debug/SuretyPackageTests.xctest/Contents/MacOS/SuretyPackageTests.
            for _ in 0..<3 {
                directory = (directory as NSString).deletingLastPathComponent
                directories.append(directory)
            }
        }
        directories.append(Bundle.main.bundlePath)
        directories.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        for directory in directories {
            let candidate = (directory as NSString).appendingPathComponent("surety")
            if manager.isExecutableFile(atPath: candidate) { return candidate }
        }
        // Fall back to the package's build folders, newest binary first.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let builds = ((try? manager.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix(".build") }
        var found: [(String, Date)] = []
        for build in builds {
            let base = root.appendingPathComponent(build).path
            for sub in ["debug/surety", "x86_64-unknown-linux-gnu/debug/surety", "aarch64-unknown-linux-gnu/debug/surety", "arm64-apple-macosx/debug/surety"] {
                let candidate = (base as NSString).appendingPathComponent(sub)
                if manager.isExecutableFile(atPath: candidate),
                   let modified = (try? manager.attributesOfItem(atPath: candidate))?[.modificationDate] as? Date {
                    found.append((candidate, modified))
                }
            }
        }
        if let newest = found.max(by: { $0.1 < $1.1 }) { return newest.0 }
        throw CLITestError("cannot find the surety executable next to the test binary or under \(root.path)/.build*")
    }
}

/// Polls `condition` until it holds or `timeout` passes (no fixed sleeps to synchronise).
func eventually(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline { throw CLITestError("timed out after \(timeout) waiting until \(what)") }
        try await Task.sleep(for: interval)
    }
}

/// Opens the store at `dir/name` in the test process (alongside the CLI's processes).
func openStore(_ dir: TempDir, _ name: String = "store.sqlite") async throws -> SQLiteStore {
    let store = try SQLiteStore(path: dir.file(name))
    try await store.migrate()
    return store
}

/// The id from `enqueue --json` output.
func enqueuedID(_ result: CLIResult) throws -> JobID {
    let json = try result.json()
    guard let id = json["id"] as? Int else { throw CLITestError("no id in \(result)") }
    return JobID(Int64(id))
}

/// Runs the tests that start several `surety` worker processes one at a time (chaos, multi-node,
/// global limits): together they would load a 2-core machine enough to slow every other test
/// that runs in parallel with them.
actor MultiProcessGate {
    static let shared = MultiProcessGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    /// Runs `body` when no other gated test runs.
    static func exclusive<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }
}
