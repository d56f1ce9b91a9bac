import ArgumentParser
import Surety
import SuretySQLite

/// `surety dlq show ID`: what the job was trying to do and why it failed, attempt by attempt.
struct DLQShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a dead job: redacted payload, type, tenant, correlation, dead reason, last error, every attempt, audit."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(name: .long, help: "Print the result as JSON (the same shape as `jobs show --json`).")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let store = opened.store
        if !json, let job = try await store.job(JobID(id)), job.state != .dead {
            Console.error("note: job \(id) is not in the dead-letter inbox (state \(job.state.rawValue))")
        }
        try await JobDetail.print(JobID(id), store: store, json: json)
    }
}
