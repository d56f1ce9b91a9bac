import ArgumentParser
import Surety
import SuretySQLite
import SuretyViews

/// `surety migrate`: creates the store if needed and brings its schema up to date.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the store (if missing) and bring its schema up to date. Safe to run repeatedly."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Also create the demo application's tables (demo_email_provider, demo_accounts, demo_transfers).")
    var demoTables = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: true) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let url = opened.url
        if demoTables {
            _ = try await opened.demoTables()
        }
        if json {
            Console.line(JSONValue.object([
                "store": .string(url.description),
                "path": .string(url.absolutePath),
                "migrated": .bool(true),
                "demo_tables": .bool(demoTables),
            ]).rendered())
        } else {
            Console.line("store \(url) (\(url.absolutePath)) is migrated\(demoTables ? ", with the demo tables" : "")")
        }
    }
}
