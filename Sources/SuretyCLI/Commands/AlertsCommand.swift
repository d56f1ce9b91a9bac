import ArgumentParser
import Foundation
import Logging
import Surety
import SuretyAlertWebhook
import SuretyAlerts

/// `surety alerts list`: the alerts the monitors recorded in the store.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Alerts recorded by the alert monitors (run them with `surety worker --alerts FILE`).",
        subcommands: [AlertsListCommand.self]
    )
}

/// Builds the alert monitor of `surety worker --alerts FILE`.
enum AlertsWiring {
    /// Reads the configuration file, builds its sinks (log, command, webhook) and the monitor.
    static func monitor(path: String, store: any CommandStore, registry: JobRegistry, logger: Logger) throws -> AlertMonitor {
        let configuration = try AlertConfiguration.load(path: path)
        let sinks = try WebhookAlertSinks.make(configuration.sinks, logger: logger)
        let escalation = try WebhookAlertSinks.make(configuration.escalation?.sinks ?? [], logger: logger)
        return try AlertMonitor(store: store, configuration: configuration, sinks: sinks, escalationSinks: escalation,
                                registry: registry, logger: logger)
    }
}
