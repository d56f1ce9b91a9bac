import Foundation
import Logging
import Surety

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program for each notice: the notice's JSON (``AlertNotice/json()``) on standard input,
/// and environment variables `SURETY_ALERT_EVENT`, `SURETY_ALERT_KEY`, `SURETY_ALERT_RULE`,
/// `SURETY_ALERT_KIND`, `SURETY_ALERT_JOB_TYPE`, `SURETY_ALERT_QUEUE`, `SURETY_ALERT_ENVIRONMENT`,
/// `SURETY_ALERT_AFFECTED` and `SURETY_ALERT_SUMMARY` beside the process's own. Standard output
/// is discarded, standard error is inherited. A program still running after `timeout` is sent
/// SIGTERM, then SIGKILL two seconds later, and the delivery fails; so does a non-zero exit.
public struct CommandAlertSink: AlertSink {
    public let name: String
    /// The program (an absolute path, or a name looked up in `PATH`) and its arguments.
    public let command: [String]
    /// Default: 10 s.
    public let timeout: Duration
    let logger: Logger

    public init(name: String = "command", command: [String], timeout: Duration = .seconds(10), logger: Logger = Logger(label: "surety.alerts")) {
        self.name = name
        self.command = command
        self.timeout = timeout
        self.logger = logger
    }

    /// The environment variables a notice sets.
    public static func environment(for notice: AlertNotice) -> [String: String] {
        let alert = notice.alert
        return [
            "SURETY_ALERT_EVENT": notice.event.rawValue, "SURETY_ALERT_KEY": alert.key, "SURETY_ALERT_RULE": alert.rule,
            "SURETY_ALERT_KIND": alert.kind.rawValue, "SURETY_ALERT_JOB_TYPE": alert.jobType ?? "",
            "SURETY_ALERT_QUEUE": alert.queue ?? "", "SURETY_ALERT_ENVIRONMENT": alert.environment,
            "SURETY_ALERT_AFFECTED": "\(alert.affected)", "SURETY_ALERT_SUMMARY": alert.summary,
        ]
    }

    public func deliver(_ notice: AlertNotice) async throws {
        guard let program = command.first, !program.isEmpty else {
            throw SuretyError(.invalidArgument, "alert sink '\(name)' has no command to run")
        }
        // The JSON goes through a temporary file rather than a pipe: a program that exits without
        // reading its input cannot break the write (SIGPIPE), and nothing blocks on a full pipe.
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("surety-alert-\(UUID().uuidString).json")
        try notice.json().write(to: input, options: .atomic)
        defer { try? FileManager.default.removeItem(at: input) }

        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(command.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command
        }
        process.environment = ProcessInfo.processInfo.environment.merging(Self.environment(for: notice)) { $1 }
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = FileHandle.nullDevice
        let exit = ProcessExit(of: process)
        // Foundation never calls the termination handler of a released Process.
        defer { withExtendedLifetime(process) {} }
        do {
            try process.run()
        } catch {
            throw SuretyError(.alertDeliveryFailed, "alert sink '\(name)' cannot start '\(program)': \((error as NSError).localizedDescription)")
        }
        // Also ends at once when the delivery is cancelled (shutdown): the program is stopped then.
        guard let outcome = await exit.wait(timeout: timeout) else {
            let pid = process.processIdentifier
            kill(pid, SIGTERM)
            if await exit.wait(timeout: .seconds(2)) == nil { kill(pid, SIGKILL) }
            throw SuretyError(.alertDeliveryFailed, "alert sink '\(name)': '\(program)' did not finish within \(timeout) and was stopped")
        }
        guard outcome.succeeded else {
            throw SuretyError(.alertDeliveryFailed, "alert sink '\(name)': '\(program)' \(outcome.signalled ? "was killed by signal" : "exited with status") \(outcome.status)")
        }
    }
}
