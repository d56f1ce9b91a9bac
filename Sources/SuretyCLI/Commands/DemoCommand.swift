import ArgumentParser
import Foundation
import Surety

/// `surety demo`: the main job a newcomer runs.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a realistic workload with injected faults and a worker crash on a fresh SQLite store, then report.",
        discussion: """
            Enqueues a mix of demo.email, demo.payment, demo.flaky, demo.noop and demo.sleep jobs for \
            several tenants, runs a worker in this process and a second worker process that it kills \
            with SIGKILL mid-job, shows live progress, and ends with a report: outcomes, retries, the \
            dead-letter inbox, the rescued jobs, emails sent, money conserved, and the check that no \
            job was lost. Exit code 3 when a check fails.
            """
    )

    static let defaultStore = "sqlite:surety-demo.sqlite"

    @Option(name: .long, help: ArgumentHelp("Where to run. Default: sqlite:surety-demo.sqlite in the working folder, deleted and recreated. A file given here must not exist yet.", valueName: "url"))
    var store: String?

    @Option(name: .long, help: "About how many jobs to enqueue (20 to 100000).")
    var jobs: Int = 500

    @Option(name: .long, help: "The seed for the workload and the fault decisions. Default: random (printed).")
    var seed: UInt64?

    @Flag(name: .customLong("no-crash"), help: "Do not start and kill a second worker process.")
    var noCrash = false

    @Option(name: .customLong("deadline-seconds"), help: "Stop waiting for jobs after this long.")
    var deadlineSeconds: Double = 50

    @Option(name: .long, help: "How many jobs the in-process worker runs at once.")
    var concurrency: Int = 16

    @Option(name: .long, help: "SQLite's synchronous setting for the demo store.")
    var synchronous: SynchronousMode = .full

    @Option(name: .customLong("worker-executable"), help: ArgumentHelp("The surety executable for the worker process. Default: this program.", valueName: "path"))
    var workerExecutable: String?

    @Flag(name: .long, help: "Also write the in-process worker's log lines to standard error.")
    var verbose = false

    func validate() throws {
        guard (20...100_000).contains(jobs) else { throw ValidationError("--jobs must be between 20 and 100000") }
        guard deadlineSeconds > 0, deadlineSeconds.isFinite else { throw ValidationError("--deadline-seconds must be positive") }
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 1000") }
        if let store, try StoreURL.parse(store).isPostgres {
            throw ValidationError("the demo runs on a fresh SQLite store only (sqlite:PATH); on PostgreSQL use `surety worker --demo-jobs` with demo.noop, demo.flaky and demo.sleep jobs")
        }
    }

    func run() async throws {
        let url = try StoreURL.parse(store ?? Self.defaultStore)
        if store != nil, FileManager.default.fileExists(atPath: url.absolutePath) {
            throw SuretyError(.invalidArgument, "the demo needs a fresh store, and \(url.absolutePath) exists; delete it or choose another path")
        }
        let settings = DemoSettings(
            store: url, jobs: jobs, seed: seed ?? UInt64.random(in: 1...999_999), crash: !noCrash,
            deadline: .interval(deadlineSeconds), concurrency: concurrency, synchronous: synchronous,
            workerExecutable: workerExecutable, verbose: verbose
        )
        let passed = try await DemoRunner.run(settings)
        if !passed { throw CLIError("a demo check failed (see the report above)", exitCode: ExitCodes.demoCheckFailed) }
    }
}
