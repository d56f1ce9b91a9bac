import ArgumentParser

/// `surety jobs list|show`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List and inspect jobs (payloads redacted).",
        subcommands: [JobsListCommand.self, JobsShowCommand.self]
    )
}
