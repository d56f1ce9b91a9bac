import ArgumentParser
import Foundation
import Surety

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `surety` command: run the demo, workers, enqueue, inspect and repair.
public struct SuretyCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "surety",
        abstract: "Surety: background jobs that tell the truth.",
        discussion: """
            Store URLs: sqlite:PATH or sqlite://PATH (relative to the working folder unless PATH \
            starts with /). Without --store, $SURETY_STORE is used, else sqlite:surety.sqlite.
            Exit codes: 0 success, 1 runtime error, 2 usage error, 3 a demo check or a prove row failed.
            New here? Run `surety demo`.
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, WorkerCommand.self, EnqueueCommand.self, StatsCommand.self,
            JobsCommand.self, DLQCommand.self, MigrateCommand.self, AlertsCommand.self, LimitsCommand.self, PruneCommand.self,
            TopCommand.self, BenchCommand.self, SchedulesCommand.self, ServeCommand.self, WorkflowsCommand.self, ProveCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line of this process and exits with its exit code (what `surety`'s
    /// main.swift calls; ArgumentParser's own `main()` would map usage errors to 64).
    public static func runAndExit() async -> Never {
        await runAndExit(.builtIn, arguments: Array(CommandLine.arguments.dropFirst()))
    }

    /// The position (1 is the first after the program name) of the first argument of this
    /// process whose bytes are not UTF-8, if any.
    static func firstNonUTF8Argument() -> Int? {
        (1..<Int(CommandLine.argc)).first { index in
            CommandLine.unsafeArgv[index].map { String(validatingCString: $0) == nil } ?? false
        }
    }

    /// Runs `arguments` (without the program name and without the word that selected the
    /// `surety` commands) for `application`, and exits with the command's exit code: how an
    /// app's own binary offers `swift run MyApp surety ...` (see ``SuretyApplication``).
    public static func runAndExit(_ application: SuretyApplication, arguments: [String]) async -> Never {
        if let position = firstNonUTF8Argument() {
            // Decoded, the bad bytes would become U+FFFD and a job would hold other text than
            // the one given, without a word (issue 17).
            Console.error("error: argument \(position) is not valid UTF-8; surety takes its arguments as UTF-8 text")
            Foundation.exit(ExitCodes.usage)
        }
        let code = await run(application, arguments: arguments)
        Foundation.exit(code)
    }

    /// Parses and runs `arguments` for `application`; returns the exit code.
    public static func run(_ application: SuretyApplication, arguments: [String]) async -> Int32 {
        await SuretyApplication.$current.withValue(application) { await run(arguments: arguments) }
    }

    /// Parses and runs `arguments` (without the program name); returns the exit code. Errors are
    /// printed to standard error; help and version to standard output.
    public static func run(arguments: [String]) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return ExitCodes.success
        } catch {
            return report(error)
        }
    }

    /// Prints `error` where it belongs and returns its exit code.
    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as SuretyError:
            Console.error("error: \(error.message) [\(error.code)]")
            return error.exitCode
        case let error as CLIError:
            if !error.message.isEmpty { Console.error("error: \(error.message)") }
            return error.exitCode
        case let error as ExitCode:
            return error.rawValue
        default:
            break
        }
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { Console.line(message) }
            return ExitCodes.success
        }
        if code == .validationFailure {
            Console.error(message)
            return ExitCodes.usage
        }
        Console.error(message.isEmpty ? "error: \(error)" : "error: \(message)")
        return ExitCodes.failure
    }
}
