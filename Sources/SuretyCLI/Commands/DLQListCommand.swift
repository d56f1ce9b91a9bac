import ArgumentParser
import Surety
import SuretySQLite

/// `surety dlq list`: dead jobs matching filters, newest first.
struct DLQListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs in the dead-letter inbox, newest first."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filters: FilterOptions
    @OptionGroup var paging: PagingOptions

    @Option(name: .customLong("dead-reason"), help: ArgumentHelp("Only jobs with this reason: \(DeadReason.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "reason"))
    var deadReason: String?

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        _ = try StateParser.parseDeadReason(deadReason)
    }

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let store = opened.store
        let filter = try filters.filter(
            states: [.dead], deadReason: StateParser.parseDeadReason(deadReason), beforeID: paging.before, limit: paging.limit
        )
        let jobs = try await store.jobs(filter)
        let views = Views(registry: SuretyApplication.current.knownRegistry)
        if json {
            Console.line(views.jsonList(jobs, limit: paging.limit).rendered())
        } else if jobs.isEmpty {
            Console.line("the dead-letter inbox has no jobs matching")
        } else {
            Console.line(views.listTable(jobs))
            if jobs.count >= paging.limit, let last = jobs.last {
                Console.line("(showing \(jobs.count); next page: --before-id \(last.id))")
            }
        }
    }
}
