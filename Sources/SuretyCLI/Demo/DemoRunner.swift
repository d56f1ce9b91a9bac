import Foundation
import GRDB
import Logging
import Surety
import SuretySQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `surety demo` was asked to do.
struct DemoSettings: Sendable {
    var store: StoreURL
    var jobs: Int
    var seed: UInt64
    var crash: Bool
    var deadline: Duration
    var concurrency: Int
    var synchronous: SynchronousMode
    var workerExecutable: String?
    var verbose: Bool
    var faults = DemoFaults()
}

/// Counters fed by the in-process worker's events.
final class DemoEventCounters: Sendable {
    struct Counts {
        var started = 0
        var finished: [AttemptOutcome: Int] = [:]
        var rescued: [JobID] = []
        var storeErrors = 0
    }

    let counts = Mutex(Counts())

    func record(_ event: WorkerEvent) {
        counts.withLock { counts in
            switch event {
            case .attemptStarted: counts.started += 1
            case .attemptFinished(_, _, let outcome, _, .applied): counts.finished[outcome, default: 0] += 1
            case .rescued(let id, _, _): counts.rescued.append(id)
            case .storeError: counts.storeErrors += 1
            default: break
            }
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }
}

/// What happened to the worker process the demo killed.
struct DemoCrash: Sendable {
    var workerID: String
    var pid: Int32
    var logPath: String
    /// The jobs it was running when it was killed.
    var killedJobs: [JobID] = []
    /// Why the crash did not happen as planned, if it did not.
    var problem: String?
}

/// Runs the demo: prepare a fresh store, enqueue the workload, run workers (killing one),
/// show progress, and report.
enum DemoRunner {
    static func run(_ settings: DemoSettings) async throws -> Bool {
        let started = ContinuousClock.now
        let path = settings.store.absolutePath
        let url = StoreURL.sqlite(path: path)

        // 1. A fresh store.
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
        let store = try await StoreOpener.open(url, synchronous: settings.synchronous.configuration, create: true)
        try await DemoSchema.migrate(store.database)

        Console.line("Surety demo: a mixed workload with injected faults and a worker crash, on a fresh SQLite store")
        Console.line("  store    \(url)")
        Console.line("  seed     \(settings.seed)  (`surety demo --seed \(settings.seed)` repeats the same workload and fault decisions)")
        Console.line("  workers  1 in this process (\(settings.concurrency) at once)" + (settings.crash
            ? " + 1 worker process, killed with SIGKILL mid-job" : " (no crash: --no-crash)"))
        Console.line("  faults   email provider 502s \(percent(settings.faults.emailProviderErrorRate)), lost email responses \(percent(settings.faults.emailResponseLostRate)), lost payment responses \(percent(settings.faults.paymentResponseLostRate)), flaky jobs per payload")
        Console.line()

        // 2. The workload.
        let workload = try DemoWorkload(count: settings.jobs, seed: settings.seed, now: Date())
        let inserted = try await store.enqueue(workload.jobs)
        let client = JobQueue(store: store, registry: DemoJobs.registry, logger: Logs.silent("surety.queue"))
        let first = try await client.enqueue(workload.uniqueJob, tenant: workload.uniqueTenant, options: workload.uniqueOptions)
        let duplicate = try await client.enqueue(workload.uniqueJob, tenant: workload.uniqueTenant, options: workload.uniqueOptions)
        let enqueuedIDs = inserted.filter(\.inserted).map(\.id) + (first.inserted ? [first.id] : [])
        let byType = Dictionary(grouping: workload.jobs, by: \.type).mapValues(\.count)
            .merging([DemoEmail.name: first.inserted ? 1 : 0], uniquingKeysWith: +)
        let typeSummary = byType.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        Console.line("Enqueued \(enqueuedIDs.count) jobs: \(typeSummary)")
        Console.line("  for \(DemoWorkload.tenants.count) tenants and @system, with correlation ids; 2 delayed by 3 s and 5 s")
        Console.line("  enqueued unique key \"\(workload.uniqueKey)\" twice: the second call returned job \(duplicate.id) and inserted \(duplicate.inserted ? "a duplicate (wrong!)" : "nothing")")
        Console.line()

        // 3. The worker process that will crash.
        var crash: DemoCrash?
        var child: ChildProcess?
        // Whatever happens from here on (an error included), the worker process does not outlive the demo.
        defer { child?.send(SIGKILL) }
        if settings.crash {
            let (process, info) = startChild(settings, url: url)
            child = process
            crash = info
            if let process, info.problem == nil {
                Console.line("Started worker process pid \(info.pid) (worker id \(info.workerID)); waiting for it to claim jobs…")
                let claimed = try await waitForClaims(store: store, workerID: info.workerID, process: process, timeout: .seconds(20))
                if claimed.isEmpty {
                    crash?.problem = process.hasExited
                        ? "the worker process exited before claiming a job (see \(info.logPath))"
                        : "the worker process claimed no job within 20 s (see \(info.logPath))"
                    process.send(SIGKILL)
                } else {
                    crash?.killedJobs = claimed
                }
            }
        }

        // 4. The in-process worker.
        let counters = DemoEventCounters()
        var dependencies = JobDependencies()
        dependencies.register(DemoServices(database: store.database, faults: settings.faults, seed: settings.seed))
        dependencies.register(store)
        let logger = settings.verbose ? Logs.standardError("surety.demo.worker", level: .info) : Logs.silent("surety.demo.worker")
        let worker = Worker(
            store: store, registry: DemoJobs.registry,
            configuration: WorkerConfiguration(
                queues: DemoJobs.queues, concurrency: settings.concurrency, leaseDuration: .seconds(10),
                pollInterval: .milliseconds(100), rescueInterval: .seconds(1), shutdownGracePeriod: .seconds(2),
                workerID: "demo-main:\(ProcessInfo.processInfo.processIdentifier)",
                onEvent: { counters.record($0) }
            ),
            dependencies: dependencies, logger: logger
        )
        // The worker runs as a child task of this group: if the demo fails while it runs (a store
        // read throws), leaving the group cancels it, which stops its attempts as a shutdown and
        // waits for it to return.
        let timedOut = try await withThrowingTaskGroup(of: Void.self, returning: Bool.self) { group in
            group.addTask { try await worker.run() }

            // 5. The crash: SIGKILL, mid-job.
            if let process = child, let info = crash, info.problem == nil, !info.killedJobs.isEmpty {
                process.send(SIGKILL)
                let status = await process.waitForExit()
                let ids = info.killedJobs.map(\.description).joined(separator: ", ")
                Console.line("SIGKILL sent to worker process \(info.pid) while it ran jobs \(ids) (exit status \(status)).")
                Console.line("  Their leases (2 s) expire without heartbeats; this process's rescuer records the attempts as lost and retries them.")
                Console.line()
            } else if let problem = crash?.problem {
                Console.line("Worker crash not simulated: \(problem)")
                Console.line()
            }

            // 6. Progress until every job is final or the deadline passes.
            let deadline = ContinuousClock.now + settings.deadline
            let terminal = Set(JobState.terminal)
            let live = Console.stdoutIsTerminal
            var lastPrinted = ContinuousClock.now - .seconds(10)
            var timedOut = false
            while true {
                let counts = try await store.counts()
                var byState: [JobState: Int] = [:]
                for count in counts { byState[count.state, default: 0] += count.count }
                let total = byState.values.reduce(0, +)
                let done = byState.filter { terminal.contains($0.key) }.values.reduce(0, +)
                let now = ContinuousClock.now
                let elapsed = (now - started).timeInterval
                let snapshot = counters.snapshot
                let line = String(format: "[%5.1fs] ", elapsed) + "\(done)/\(total) done · completed \(byState[.completed] ?? 0) · dead \(byState[.dead] ?? 0) · retrying \(byState[.retrying] ?? 0) · running \(byState[.running] ?? 0) · waiting \((byState[.available] ?? 0) + (byState[.scheduled] ?? 0)) · rescued \(snapshot.rescued.count)"
                let finished = done == total
                if now >= deadline { timedOut = !finished }
                if live {
                    Console.control("\r")
                    Console.write(line)
                    Console.control("\u{1B}[K" + (finished || timedOut ? "\n" : ""))
                } else if finished || timedOut || now - lastPrinted >= .seconds(2) {
                    Console.line(line)
                    lastPrinted = now
                }
                if finished || timedOut { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            worker.beginDrain()
            try await group.waitForAll()
            return timedOut
        }
        if let child, !child.hasExited {
            child.send(SIGKILL)
            _ = await child.waitForExit()
        }
        if timedOut {
            Console.line("Deadline of \(Formatting.duration(settings.deadline.timeInterval)) reached with jobs unfinished; stopping the worker.")
        }
        let elapsed = (ContinuousClock.now - started).timeInterval
        Console.line()

        // 7. The report.
        let report = try await DemoReport.build(
            store: store, url: url, enqueued: enqueuedIDs, uniqueFirst: first, uniqueDuplicate: duplicate,
            crash: crash, counters: counters.snapshot
        )
        Console.line(report.text(elapsed: elapsed))
        return report.passed
    }

    static func percent(_ rate: Double) -> String { "\(Int((rate * 100).rounded()))%" }

    /// Starts `surety worker` as a child process that the demo will kill.
    static func startChild(_ settings: DemoSettings, url: StoreURL) -> (ChildProcess?, DemoCrash) {
        let workerID = "demo-crash-worker-\(ProcessInfo.processInfo.processIdentifier)"
        let logPath = (NSTemporaryDirectory() as NSString).appendingPathComponent("surety-demo-worker-\(ProcessInfo.processInfo.processIdentifier).log")
        var info = DemoCrash(workerID: workerID, pid: 0, logPath: logPath)
        guard let executable = settings.workerExecutable ?? ChildProcess.suretyExecutable() else {
            info.problem = "cannot find the surety executable to start a worker process (pass --worker-executable)"
            return (nil, info)
        }
        let faults = settings.faults
        let arguments = [
            "worker", "--store", url.description, "--synchronous", settings.synchronous.rawValue, "--demo-jobs",
            "--concurrency", "4", "--lease-seconds", "2", "--rescue-interval-seconds", "1", "--poll-interval-ms", "100",
            "--worker-id", workerID, "--demo-seed", "\(settings.seed)",
            "--demo-email-error-rate", "\(faults.emailProviderErrorRate)", "--demo-email-lost-rate", "\(faults.emailResponseLostRate)",
            "--demo-payment-lost-rate", "\(faults.paymentResponseLostRate)", "--exit-with-parent",
        ]
        do {
            let process = try ChildProcess(executable: executable, arguments: arguments, outputPath: logPath)
            try process.start()
            info.pid = process.pid
            return (process, info)
        } catch {
            info.problem = "could not start \(executable): \(error)"
            return (nil, info)
        }
    }

    /// Polls until the worker `workerID` is running jobs; returns their ids (empty on timeout or
    /// when the process exits).
    static func waitForClaims(store: SQLiteStore, workerID: String, process: ChildProcess, timeout: Duration) async throws -> [JobID] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !process.hasExited {
            let running = try await store.jobs(JobFilter(states: [.running], limit: 1000))
            let mine = running.filter { $0.attemptedBy == workerID }.map(\.id).sorted()
            if !mine.isEmpty { return mine }
            try await Task.sleep(for: .milliseconds(20))
        }
        return []
    }
}
