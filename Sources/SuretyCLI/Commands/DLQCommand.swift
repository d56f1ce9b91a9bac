import ArgumentParser

/// `surety dlq list|show|requeue|discard|resolve-effect`: the dead-letter inbox.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "The dead-letter inbox: list, show, requeue, discard, resolve-effect. Every action is audited.",
        subcommands: [DLQListCommand.self, DLQShowCommand.self, DLQRequeueCommand.self, DLQDiscardCommand.self, DLQResolveEffectCommand.self]
    )
}
