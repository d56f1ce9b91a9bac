import ArgumentParser

/// `surety jobs list|show|cancel`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, inspect and cancel jobs (payloads redacted).",
        subcommands: [JobsListCommand.self, JobsShowCommand.self, JobsCancelCommand.self]
    )
}
