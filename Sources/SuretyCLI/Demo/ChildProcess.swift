import Foundation
import Surety
import SuretyAlerts

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process whose exit can be awaited, with its output sent to a file.
final class ChildProcess: @unchecked Sendable {
    // `Process` is not Sendable; it is touched only in `init`, `start` and `pid`, and its
    // termination handler only writes `state` under the mutex.
    private let process = Process()
    private let exit: ProcessExit

    /// - Parameter environment: the child's environment. Default: `nil`, this process's.
    init(executable: String, arguments: [String], outputPath: String, environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        exit = ProcessExit(of: process)
    }

    func start() throws { try process.run() }

    var pid: Int32 { process.processIdentifier }

    var hasExited: Bool { exit.hasExited }

    /// Sends `signal` to the child (no-op once it has exited).
    func send(_ signal: Int32) {
        guard !hasExited, pid > 0 else { return }
        _ = kill(pid, signal)
    }

    /// The exit status (the signal's number when a signal ended it) once the child has exited.
    func waitForExit() async -> Int32 { await exit.wait().status }

    /// The exit status, or `nil` when the child is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? { await exit.wait(timeout: timeout)?.status }

    /// The path of the `surety` executable: this process's own executable when it is `surety`,
    /// else a `surety` next to it (a test runner in the same build folder).
    static func suretyExecutable() -> String? {
        let manager = FileManager.default
        var candidates: [String] = []
        if let resolved = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe") { candidates.append(resolved) }
        if let first = CommandLine.arguments.first {
            let absolute = first.hasPrefix("/") ? first : manager.currentDirectoryPath + "/" + first
            candidates.append(URL(fileURLWithPath: absolute).standardizedFileURL.path)
        }
        for candidate in candidates where (candidate as NSString).lastPathComponent == "surety" && manager.isExecutableFile(atPath: candidate) {
            return candidate
        }
        for candidate in candidates {
            let sibling = ((candidate as NSString).deletingLastPathComponent as NSString).appendingPathComponent("surety")
            if manager.isExecutableFile(atPath: sibling) { return sibling }
        }
        return nil
    }
}
