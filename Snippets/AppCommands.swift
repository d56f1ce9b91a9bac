// Operations: the whole `surety` CLI inside the application's own binary, with its job types.
import Surety
import SuretyCLI

struct NightlyReport: Job {
    static let name = "app.nightly-report"
    func run(_ context: JobContext) async throws {}
}

// snippet.application
let application = SuretyApplication(
    jobs: [NightlyReport.self],
    queues: ["default"],
    schedules: [try Schedule(name: "nightly-report", cron: "0 0 3 * * *", job: NightlyReport(), tenant: .system)]
)
// `swift run MyApp surety worker|enqueue|jobs|dlq|stats|top|schedules|limits|prune|serve|migrate`
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "surety" {
    await SuretyCommand.runAndExit(application, arguments: Array(arguments.dropFirst()))
}
// snippet.end
