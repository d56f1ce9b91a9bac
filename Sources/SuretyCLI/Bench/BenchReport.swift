import Foundation

/// Everything one `surety bench` run measured; `--json` prints it (keys in snake_case).
struct BenchReport: Codable, Sendable {
    var version = 1
    var store: String
    var settings: [String: String]
    var machine: BenchMachine
    var startedAt: Date
    var seconds: Double?
    var jobs: Int
    var workloads: [WorkloadFigures] = []
    var backlogs: [DrainFigures] = []

    /// The figures for one kind of job.
    struct WorkloadFigures: Codable, Sendable {
        var workload: BenchWorkload
        var payloadBytes: Int
        /// `store.enqueue` of prepared rows in batches of ``BenchRunner/bulkBatch``.
        var bulkEnqueue: Rate
        /// `JobQueue.enqueue([J])` (payloads encoded per job) in batches of the same size.
        var bulkEnqueueClient: Rate
        /// `JobQueue.enqueue(J)` awaited one at a time by 1 and by 16 concurrent producers.
        var enqueueOneAtATime: [ProducerRate] = []
        var drain: [DrainFigures] = []
        var pickup: Pickup?
    }

    struct Rate: Codable, Sendable {
        var jobs: Int
        var seconds: Double
        var jobsPerSecond: Double
        /// With `--repeat`: every run's jobs/s, in the order they ran (this figure is the median
        /// run's). `nil` for a single run.
        var runs: [Double]?
        init(jobs: Int, seconds: Double) {
            self.jobs = jobs
            self.seconds = seconds
            jobsPerSecond = seconds > 0 ? Double(jobs) / seconds : 0
        }
    }

    struct ProducerRate: Codable, Sendable {
        var producers: Int
        var rate: Rate
    }

    /// One drain by a worker process: first claim to last durable completion.
    struct DrainFigures: Codable, Sendable {
        var workload: BenchWorkload
        var concurrency: Int
        var backlog: Int
        /// Completed rows already in the table when the drain started.
        var retainedCompleted: Int
        var rate: Rate
        /// The worker process's peak resident memory (VmHWM), and its resident memory just
        /// before the worker started.
        var peakMemoryMib: Double
        var memoryBeforeMib: Double
        /// Worker process CPU time (user + system) per job, from the worker's start to its stop.
        var cpuMicrosecondsPerJob: Double
    }

    /// Enqueue-to-start latency with an idle worker in the same process, jobs arriving one at a
    /// time.
    struct Pickup: Codable, Sendable {
        var samples: Int
        var p50Milliseconds: Double
        var p99Milliseconds: Double
        var maxMilliseconds: Double
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The figures as a table for people.
    func text() -> String {
        var lines: [String] = []
        let settingText = settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("surety bench: \(store) (\(settingText)), \(machine.build) build")
        lines.append("machine: \(machine.cpus) CPUs (\(machine.cpuModel)), \(machine.memoryGib) GiB; load at start \(Self.loads(machine.loadAtStart)), at end \(Self.loads(machine.loadAtEnd ?? []))")
        for figures in workloads {
            lines.append("")
            lines.append("\(figures.workload.rawValue) (payload \(figures.payloadBytes) B)")
            lines.append("  bulk enqueue (store)          \(Self.rate(figures.bulkEnqueue))")
            lines.append("  bulk enqueue (JobQueue)       \(Self.rate(figures.bulkEnqueueClient))")
            for producer in figures.enqueueOneAtATime {
                lines.append("  enqueue one at a time x\(producer.producers)".padding(toLength: 32, withPad: " ", startingAt: 0) + Self.rate(producer.rate))
            }
            for drain in figures.drain {
                lines.append("  drain, concurrency \(drain.concurrency)".padding(toLength: 32, withPad: " ", startingAt: 0) + Self.drainText(drain))
            }
            if let pickup = figures.pickup {
                lines.append(String(format: "  pickup latency                p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d samples)",
                                    pickup.p50Milliseconds, pickup.p99Milliseconds, pickup.maxMilliseconds, pickup.samples))
            }
        }
        if !backlogs.isEmpty {
            lines.append("")
            lines.append("drain by backlog (\(backlogs[0].workload.rawValue), concurrency \(backlogs[0].concurrency))")
            for drain in backlogs {
                let retained = drain.retainedCompleted > 0 ? " +\(drain.retainedCompleted) completed" : ""
                lines.append("  backlog \(drain.backlog)\(retained)".padding(toLength: 32, withPad: " ", startingAt: 0) + Self.drainText(drain))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func loads(_ values: [Double]) -> String {
        values.map { String(format: "%.2f", $0) }.joined(separator: " ")
    }

    static func rate(_ rate: Rate) -> String {
        var text = String(format: "%9.0f jobs/s  (%d jobs in %.3f s)", rate.jobsPerSecond, rate.jobs, rate.seconds)
        if let runs = rate.runs, runs.count > 1, let low = runs.min(), let high = runs.max() {
            text += String(format: "  [median of %d: %.0f–%.0f]", runs.count, low, high)
        }
        return text
    }

    static func drainText(_ drain: DrainFigures) -> String {
        rate(drain.rate) + String(format: "  peak %.0f MiB, %.1f µs CPU/job", drain.peakMemoryMib, drain.cpuMicrosecondsPerJob)
    }
}
