import ArgumentParser
import Foundation
import Surety

/// `surety prove`: the crash-point matrix of docs/guarantees.md, run against the user's own
/// store (in a file or schema of its own beside it, removed afterwards).
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Attack every crash point with real SIGKILLs on your store, and show what was lost or duplicated (nothing, or exit 3).",
        discussion: """
            For each crash point (\(CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))), \
            prove creates a store of its own beside the given one (an SQLite file in the same folder, \
            or a new schema on the same PostgreSQL server; the given store is never touched, and the \
            new one is removed afterwards), enqueues charges, notifications and two-step workflows \
            for several tenants, runs `surety worker` processes that kill themselves with SIGKILL at \
            the point, drains with a clean worker, and checks the store and the records of an HTTP \
            provider it runs on 127.0.0.1: no job lost, no effect performed twice, no job run twice \
            at once, no tenant mixed up, every in-doubt effect stopped or reconciled, no job \
            completed without its effect, every attempt in the history, operator changes all or \
            nothing with their audit. docs/guarantees.md shows a run of it. Exit 3 when a row fails.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Jobs per crash point (6 to 2000).")
    var jobs: Int = 24

    @Option(name: .long, help: "Processes killed per crash point (1 to 20).")
    var rounds: Int = 3

    @Option(name: .long, help: ArgumentHelp("Only this crash point (repeatable). Default: every one.", valueName: "point"))
    var point: [String] = []

    @Option(name: .long, help: "The seed of the workload and the kill counts. Default: random (printed).")
    var seed: UInt64?

    @Option(name: .long, help: "Output: text, markdown or json.")
    var format: Format = .text

    @Option(name: .customLong("work-dir"), help: ArgumentHelp("Where the child processes' logs go. Default: a new temporary folder, removed when every row holds.", valueName: "path"))
    var workDirectory: String?

    @Option(name: .customLong("worker-executable"), help: ArgumentHelp("The surety executable for the child processes. Default: this program.", valueName: "path"))
    var workerExecutable: String?

    @Flag(name: .long, help: "Narrate each child process on standard error.")
    var verbose = false

    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, markdown, json
    }

    func validate() throws {
        guard (6...2000).contains(jobs) else { throw ValidationError("--jobs must be between 6 and 2000") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 20") }
        for name in point where CrashPoint(rawValue: name) == nil {
            throw ValidationError("unknown crash point '\(name)'; known: \(CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let url = try storeOptions.url()
        let points = point.isEmpty ? CrashPoint.allCases : point.compactMap(CrashPoint.init(rawValue:))
        guard let executable = workerExecutable ?? ChildProcess.suretyExecutable() else {
            throw SuretyError(.invalidArgument, "cannot find the surety executable for the child processes; pass --worker-executable")
        }
        let seed = seed ?? UInt64.random(in: 1...999_999)
        let directory = workDirectory ?? NSTemporaryDirectory() + "surety-prove-\(seed)-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        Console.error("surety prove: seed \(seed) (rerun with --seed \(seed)); \(points.count) crash points on \(url); logs in \(directory)")
        let settings = ProveSettings(jobs: jobs, rounds: rounds, seed: seed, executable: executable, workDirectory: directory, verbose: verbose)
        let rows = try await ProveRunner.run(url, points: points, settings: settings) { row in
            Console.error("surety prove: \(row.store) \(row.point): \(row.holds ? "holds" : "FAILS") (\(row.kills) kills, \(row.jobs) jobs, \(String(format: "%.1f", row.seconds)) s)")
        }
        switch format {
        case .text: Console.line(ProveReport.text(rows))
        case .markdown: Console.line(ProveReport.markdown(rows))
        case .json: Console.line(ProveReport.json(rows, seed: seed))
        }
        if rows.allSatisfy(\.holds) {
            if workDirectory == nil { try? FileManager.default.removeItem(atPath: directory) }
        } else {
            Console.error("surety prove: a guarantee did not hold; the child processes' logs are in \(directory)")
            throw ExitCode(3)
        }
    }
}
