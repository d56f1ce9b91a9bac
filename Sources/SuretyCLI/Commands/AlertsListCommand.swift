import ArgumentParser
import Foundation
import Surety
import SuretyAlerts

/// `surety alerts list [--all] [--json]`.
struct AlertsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List firing alerts (with --all, resolved ones too), most recent first.",
        discussion: """
            Alerts are evaluated by `surety worker --alerts FILE` (or an application's AlertMonitor) and \
            kept in the store, so every node and this command see the same ones. Resolved alerts are \
            kept for keepResolvedSeconds (default 7 days). See docs/alerts.md.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Include resolved alerts.")
    var all = false

    @Flag(name: .long, help: "Print the result as JSON (documented in docs/alerts.md).")
    var json = false

    /// One listed alert, as `--json` prints it.
    struct Entry: Encodable {
        var key: String
        var status: String
        var version: Int
        var updatedAt: Date
        var notices: Int
        var lastNoticeAt: Date
        var escalatedAt: Date?
        var alert: Alert
    }

    struct Output: Encodable {
        var alerts: [Entry]
    }

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let (store, url) = (opened.store, opened.url)
        guard let states = (store as any CommandStore) as? any AlertStateStore else {
            throw CLIError("the store \(url) does not keep alert state")
        }
        // The same query as the dashboard's alerts page (AlertStateStore.storedAlerts).
        let entries = try await states.storedAlerts(includeResolved: all).map { stored in
            Entry(key: stored.key, status: stored.state.status.rawValue, version: stored.version, updatedAt: stored.updatedAt,
                  notices: stored.state.notices, lastNoticeAt: stored.state.lastNoticeAt, escalatedAt: stored.state.escalatedAt, alert: stored.alert)
        }
        if json {
            let encoder = AlertJSON.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            Console.line(String(decoding: try encoder.encode(Output(alerts: entries)), as: UTF8.self))
            return
        }
        guard !entries.isEmpty else {
            Console.line(all ? "no alerts recorded" : "no alerts firing")
            return
        }
        let rows = entries.map { entry -> [String] in
            [entry.status, entry.key, entry.alert.environment, Formatting.timestamp(entry.alert.firingSince),
             "\(entry.alert.affected)", "\(entry.alert.deadLetter.count)", entry.escalatedAt == nil ? "-" : "yes"]
        }
        Console.line(Formatting.table(["STATUS", "ALERT", "ENV", "SINCE", "AFFECTED", "DEAD", "ESCALATED"], rows))
        for entry in entries {
            Console.line()
            Console.line("\(entry.key): \(entry.alert.summary)")
            if let first = entry.alert.firstFailureAt { Console.line("  first failure: \(Formatting.timestamp(first))") }
            Console.line("  what to do: \(entry.alert.whatToDo)")
        }
    }
}
