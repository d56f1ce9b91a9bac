import ArgumentParser
import Surety
import SuretySQLite

/// `surety jobs show ID`: the record, every attempt and the operator actions.
struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one job: record (payload redacted), attempt history and audit."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let store = opened.store
        try await JobDetail.print(JobID(id), store: store, json: json)
    }
}

/// Shared by `jobs show` and `dlq show`.
enum JobDetail {
    static func print(_ id: JobID, store: any CommandStore, json: Bool, requireDead: Bool = false) async throws {
        guard let job = try await store.job(id) else {
            throw SuretyError(.notFound, "no job with id \(id)")
        }
        if requireDead, job.state != .dead {
            throw SuretyError(.invalidState, "job \(id) is not in the dead-letter inbox (state \(job.state.rawValue)); use `surety jobs show \(id)`")
        }
        let attempts = try await store.attempts(of: id)
        let audit = try await store.audit(of: id)
        let views = Views(registry: SuretyApplication.current.knownRegistry)
        if json {
            Console.line(views.jsonDetail(job, attempts: attempts, audit: audit).rendered())
        } else {
            Console.line(views.detailText(job, attempts: attempts, audit: audit))
        }
    }
}
