import Surety
import SuretyCLI
import Vapor

/// The `surety` commands inside a Vapor application's own binary, with its job types:
/// `swift run App surety worker|enqueue|jobs|dlq|stats|serve|migrate|...`. Every argument after
/// `surety` goes to `SuretyCommand.run(_:arguments:)` unparsed (its own options and help).
///
/// ```swift
/// app.asyncCommands.use(SuretyVaporCommand(application: SuretyApplication(jobs: [SendWelcomeEmail.self])), as: "surety")
/// ```
public struct SuretyVaporCommand: AnyAsyncCommand {
    /// What the commands know: the application's job types, queues, schedules and dependencies.
    public let application: SuretyApplication

    /// - Parameter application: the application's job types, queues, schedules and dependencies.
    public init(application: SuretyApplication) {
        self.application = application
    }

    public var help: String { "Surety's commands with this application's job types (see `surety --help`)." }

    /// Runs the `surety` command line that follows the command's name.
    /// - Throws: ``SuretyCommandFailed`` when the command exits with another code than 0.
    public func run(using context: inout CommandContext) async throws {
        let code = await SuretyCommand.run(application, arguments: context.input.arguments)
        if code != 0 { throw SuretyCommandFailed(exitCode: code) }
    }

    public func outputHelp(using context: inout CommandContext) {
        context.console.output(help.consoleText())
    }
}

/// A `surety` command run as a Vapor command ended with a non-zero exit code (it has already
/// printed its error): 1 runtime error, 2 usage error, 3 a demo check or prove row failed.
public struct SuretyCommandFailed: Error, CustomStringConvertible {
    /// The `surety` command's exit code.
    public var exitCode: Int32
    /// The error's code: `surety_command_failed`.
    public var code: String { "surety_command_failed" }

    public var description: String { "the surety command failed with exit code \(exitCode)" }
}
