import ArgumentParser
import Foundation
import Surety

/// `surety top`: a live view of the store, redrawn in place.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view: throughput, failure rate, retries, latency percentiles, waiting work and dead-letter size per queue and type.",
        discussion: """
            Redraws in place on a terminal (ANSI home and clear); when standard output is not a \
            terminal each refresh is printed after the previous one. Figures over the window come \
            from jobs that finished in it. Stop with Ctrl-C, or pass --iterations.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Seconds between refreshes.")
    var interval: Double = 2

    @Option(name: .long, help: "Stop after this many refreshes (0: until interrupted).")
    var iterations: Int = 0

    @Option(name: .long, help: ArgumentHelp("The window the rates and percentiles cover, for example 60s or 15m.", valueName: "duration"))
    var window: String = "60s"

    func validate() throws {
        guard interval >= 0.1, interval.isFinite else { throw ValidationError("--interval must be at least 0.1 seconds") }
        guard iterations >= 0 else { throw ValidationError("--iterations must not be negative") }
        guard try TimeArguments.duration(window, option: "--window") > .zero else { throw ValidationError("--window must be positive") }
    }

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(store: $0.store, url: $0.url) }
    }

    private func run(store: any CommandStore, url: StoreURL) async throws {
        let windowSeconds = try TimeArguments.duration(window, option: "--window").timeInterval
        let inPlace = Console.stdoutIsTerminal
        var frame = 0
        while iterations == 0 || frame < iterations {
            if frame > 0 { try await Task.sleep(for: .interval(interval)) }
            let now = Date()
            let counts = try await store.counts()
            let activity = try await Activity.load(store, window: windowSeconds, now: now)
            let text = Self.render(store: url.description, now: now, counts: counts, activity: activity)
            if inPlace {
                Console.control("\u{1B}[H\u{1B}[2J")
                Console.write(text + "\n")
            } else {
                Console.write((frame > 0 ? "\n" : "") + text + "\n")
            }
            frame += 1
        }
    }

    /// One frame of the view.
    static func render(store: String, now: Date, counts: [JobCount], activity: Activity) -> String {
        var lines: [String] = []
        let dead = counts.filter { $0.state == .dead }.reduce(0) { $0 + $1.count }
        let waiting = counts.filter { JobState.claimable.contains($0.state) }.reduce(0) { $0 + $1.count }
        let running = counts.filter { $0.state == .running }.reduce(0) { $0 + $1.count }
        lines.append("surety top · \(store) · \(Formatting.timestamp(now))")
        lines.append("\(waiting) waiting, \(running) running, \(dead) in the dead-letter inbox")
        lines.append(activity.summaryLine())
        lines.append("")
        lines.append(activity.latencyTable(indent: ""))
        lines.append("")

        var queues: [String: [JobState: Int]] = [:]
        var types: [String: [JobState: Int]] = [:]
        for count in counts {
            queues[count.queue, default: [:]][count.state, default: 0] += count.count
            types[count.type, default: [:]][count.state, default: 0] += count.count
        }
        func waitingIn(_ states: [JobState: Int]) -> Int { JobState.claimable.reduce(0) { $0 + (states[$1] ?? 0) } }
        lines.append(Formatting.table(["QUEUE", "WAITING", "RUNNING", "RETRYING", "DEAD (DLQ)"], queues.keys.sorted().map { queue in
            let states = queues[queue] ?? [:]
            return [queue, "\(waitingIn(states))", "\(states[.running] ?? 0)", "\(states[.retrying] ?? 0)", "\(states[.dead] ?? 0)"]
        }))
        lines.append("")
        let recent = activity.byType
        let typeNames = Set(types.keys).union(recent.keys).sorted()
        lines.append(Formatting.table(["TYPE", "DONE/S", "FAILURE RATE", "WAITING", "RUNNING", "DEAD (DLQ)"], typeNames.map { type in
            let states = types[type] ?? [:]
            let window = recent[type] ?? (0, 0)
            let rate = activity.window > 0 ? Double(window.completed) / activity.window : 0
            return [type, Formatting.number((rate * 100).rounded() / 100), Formatting.percent(window.dead, of: window.completed + window.dead),
                    "\(waitingIn(states))", "\(states[.running] ?? 0)", "\(states[.dead] ?? 0)"]
        }))
        return lines.joined(separator: "\n")
    }
}
