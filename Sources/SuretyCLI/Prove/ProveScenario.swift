import Foundation
import Surety

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One crash point on one store, end to end: a store of its own (an SQLite file beside the
/// given one, or a PostgreSQL schema of its own, removed afterwards), a workload, processes
/// started with the point armed and killed by it with SIGKILL, a clean worker that drains what
/// is left, then the checks (``ProveChecks``) against the store and the provider's records.
struct ProveScenario: Sendable {
    let point: CrashPoint
    let settings: ProveSettings
    let provider: ProveProvider
    let providerURL: String
    /// The scenario's store URL, as the child processes take it (password included).
    let storeURL: String
    let storeName: String
    var random: ProveRandom

    func log(_ text: String) { if settings.verbose { Console.error("prove[\(storeName) \(point.rawValue)]: \(text)") } }

    /// Runs the scenario against `store` (opened on ``storeURL``); returns its row.
    mutating func run(_ store: any CommandStore) async throws -> ProveRow {
        let started = ContinuousClock.now
        var row = ProveRow(store: storeName, point: point.rawValue, attack: point.summary)
        provider.reset()
        let workload = ProveWorkload(provider: providerURL, random: &random, jobs: settings.jobs, deadOnce: point == .requeue,
                                     workflowHeavy: point == .workflowRelease)
        // Every job: the lines, and each workflow's two step jobs.
        row.jobs = workload.lines.count + (point == .enqueueGroup ? 0 : 2 * workload.workflows.count)
        var acknowledged: [String: Int64] = [:]
        let queue = JobQueue(store: store, registry: ProveJobs.registry, logger: Logs.silent("surety.queue"))

        switch point {
        case .enqueueGroup:
            let file = settings.workDirectory + "/prove-\(storeName)-enqueue.jsonl"
            try workload.jsonLines().write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            // The point is reached once per group write, and how calls group depends on timing
            // (callers that queue while the writer starts share its first group). What is sure:
            // with at most 8 calls in flight, more than 8 lines take at least two writes. So the
            // kill comes at the first or second write (the second leaves acknowledged enqueues to
            // check), never at a third that may not happen (review of issue 18: 2...3 missed
            // whenever the 12 lines went in two groups).
            let enqueueConcurrency = 8
            let surelyReached = workload.lines.count > enqueueConcurrency ? 2 : 1
            for round in 1...settings.rounds {
                let (killed, output) = try await runChild(
                    ["enqueue", "--store", storeURL, "--file", file, "--json", "--prove-jobs", "--concurrency", "\(enqueueConcurrency)"],
                    name: "enqueuer-\(round)", crashAfter: Int.random(in: 1...surelyReached, using: &random))
                for (line, id) in Self.acknowledgements(output) { acknowledged[workload.lines[line - 1].uniqueKey] = id }
                if killed { row.kills += 1 } else { break }
            }
            // Every enqueue acknowledged before a kill is in the store, under its id.
            for (key, id) in acknowledged where try await store.job(JobID(id))?.uniqueKey != key {
                row.lost += 1
                row.problems.append("the enqueue of \(key) was acknowledged as job \(id), which is not in the store")
            }
            // The operator reruns the file: nothing is enqueued twice.
            let (_, output) = try await runChild(["enqueue", "--store", storeURL, "--file", file, "--json", "--prove-jobs"], name: "enqueuer-clean", crashAfter: nil)
            if Self.acknowledgements(output).count != workload.lines.count {
                row.problems.append("the clean rerun of the enqueue file acknowledged \(Self.acknowledgements(output).count) of \(workload.lines.count) lines")
            }
        default:
            for line in workload.lines { _ = try await queue.enqueue(type: line.type, payload: line.payload, tenant: line.tenant, options: line.options) }
            for workflow in workload.workflows { _ = try await queue.enqueue(workflow.workflow, tenant: workflow.tenant) }
        }

        if point == .requeue {
            // First everything runs once: the once-dead jobs reach the inbox.
            try await drain(store, name: "drain-before-requeue")
            let dead = try await store.jobs(JobFilter(states: [.dead], types: [ProveOnceDead.name], limit: 10_000))
            // Batches of 4 jobs, one transaction each: a kill inside one keeps the batches before it.
            let requeue = ["dlq", "requeue", "--store", storeURL, "--all-matching", "--type", ProveOnceDead.name, "--by", "surety-prove",
                           "--reason", "prove: requeue crash point", "--batch-size", "4", "--json"]
            for round in 1...settings.rounds {
                let stillDead = try await store.jobs(JobFilter(states: [.dead], types: [ProveOnceDead.name], limit: 10_000)).count
                guard stillDead > 0 else { break }
                let (killed, _) = try await runChild(requeue, name: "requeue-\(round)", crashAfter: Int.random(in: 1...stillDead, using: &random))
                if killed { row.kills += 1 } else { break }
                // All or nothing: a job out of the inbox has its audit row, a job still dead has none.
                for job in dead {
                    let now = try await store.job(job.id)
                    let audits = try await store.audit(of: job.id).filter { $0.action == "requeue" }
                    let moved = now?.state != .dead
                    if audits.count > 1 || moved != !audits.isEmpty {
                        row.unauditedChanges += 1
                        row.problems.append("job \(job.id): state \(now?.state.rawValue ?? "missing") with \(audits.count) requeue audit rows after kill \(round)")
                    }
                }
            }
            if try await store.jobs(JobFilter(states: [.dead], types: [ProveOnceDead.name], limit: 10_000)).count > 0 {
                _ = try await runChild(requeue, name: "requeue-clean", crashAfter: nil)
            }
        } else if point != .enqueueGroup {
            for round in 1...settings.rounds {
                guard try await unfinished(store) > 0 else { break }
                let (killed, _) = try await runChild(workerArguments(name: "victim-\(round)"), name: "victim-\(round)",
                                                     crashAfter: Int.random(in: 1...3, using: &random), store: store)
                if killed { row.kills += 1 } else { break }
            }
        }
        try await drain(store, name: "drain")
        try await ProveChecks.check(&row, store: store, workload: workload, acknowledged: acknowledged, provider: provider.snapshot)
        row.seconds = (ContinuousClock.now - started).timeInterval
        return row
    }

    func workerArguments(name: String) -> [String] {
        ["worker", "--store", storeURL, "--prove-jobs", "--lease-seconds", "2", "--rescue-interval-seconds", "0.5",
         "--poll-interval-ms", "50", "--worker-id", name, "--concurrency", "4", "--no-retention",
         "--shutdown-grace-seconds", "5", "--log-level", "notice"]
    }

    /// Runs a clean worker until every job and workflow is finished (bounded), then stops it.
    func drain(_ store: any CommandStore, name: String) async throws {
        let child = try start(workerArguments(name: name), name: name, crashAfter: nil)
        let deadline = ContinuousClock.now + settings.drainTimeout
        while try await unfinished(store) > 0 {
            if ContinuousClock.now > deadline || child.hasExited {
                child.send(SIGKILL)
                _ = await child.waitForExit()
                throw SuretyError(.storeUnavailable, "prove: the drain worker did not finish every job within \(settings.drainTimeout) (\(child.hasExited ? "it exited" : "still running")); its log: \(settings.workDirectory)/\(logName(name))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        child.send(SIGTERM)
        if await child.waitForExit(timeout: .seconds(30)) == nil {
            child.send(SIGKILL)
            _ = await child.waitForExit()
        }
    }

    /// Jobs and workflows not yet finished.
    func unfinished(_ store: any CommandStore) async throws -> Int {
        let counts = try await store.counts()
        var open = counts.filter { !$0.state.isTerminal }.reduce(0) { $0 + $1.count }
        if let workflows = store as? any WorkflowStore {
            open += try await workflows.workflows(WorkflowFilter(states: [.running], limit: 10_000)).count
        }
        return open
    }

    func logName(_ name: String) -> String { "prove-\(storeName)-\(point.rawValue)-\(name).log" }

    func start(_ arguments: [String], name: String, crashAfter: Int?) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment[CrashPoints.pointVariable] = nil
        environment[CrashPoints.afterVariable] = nil
        if let crashAfter {
            environment[CrashPoints.pointVariable] = point.rawValue
            environment[CrashPoints.afterVariable] = "\(crashAfter)"
        }
        let child = try ChildProcess(executable: settings.executable, arguments: arguments,
                                     outputPath: settings.workDirectory + "/" + logName(name), environment: environment)
        try child.start()
        log("started \(name) (pid \(child.pid))\(crashAfter.map { ", armed to die at reach \($0)" } ?? "")")
        return child
    }

    /// Runs a child to its end (bounded); returns whether the crash point killed it, and its output.
    /// - Parameter store: when given, the child is also stopped once the store shows nothing
    ///   left to do (a worker that can no longer reach its point). Default: none.
    func runChild(_ arguments: [String], name: String, crashAfter: Int?, store: (any CommandStore)? = nil) async throws -> (killed: Bool, output: String) {
        let child = try start(arguments, name: name, crashAfter: crashAfter)
        var status: Int32?
        if let store {
            let deadline = ContinuousClock.now + settings.childTimeout
            while status == nil, ContinuousClock.now < deadline {
                status = await child.waitForExit(timeout: .milliseconds(200))
                // Nothing left: give the point a moment more (an outcome being written), then stop.
                if status == nil, try await unfinished(store) == 0 {
                    status = await child.waitForExit(timeout: .seconds(1))
                    break
                }
            }
        } else {
            status = await child.waitForExit(timeout: settings.childTimeout)
        }
        if status == nil {
            // Never reached the point (nothing left that passes it): stopped, not a kill.
            log("\(name) did not reach the point within \(settings.childTimeout); stopping it")
            child.send(SIGTERM)
            status = await child.waitForExit(timeout: .seconds(30))
            if status == nil {
                child.send(SIGKILL)
                status = await child.waitForExit()
            }
        }
        let output = (try? String(contentsOfFile: settings.workDirectory + "/" + logName(name), encoding: .utf8)) ?? ""
        let killed = status == SIGKILL && output.contains("surety: crash point \(point.rawValue) reached")
        log("\(name) ended with status \(status ?? -1)\(killed ? " (killed at the point)" : "")")
        if crashAfter == nil, status != 0 {
            throw SuretyError(.storeUnavailable, "prove: \(arguments.prefix(2).joined(separator: " ")) exited with status \(status ?? -1); its log: \(settings.workDirectory)/\(logName(name))")
        }
        return (killed, output)
    }

    /// `{"line": N, "id": ID, ...}` lines of `surety enqueue --file --json`.
    static func acknowledgements(_ output: String) -> [(line: Int, id: Int64)] {
        output.split(separator: "\n").compactMap { text in
            guard text.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let line = (object["line"] as? NSNumber)?.intValue, let id = (object["id"] as? NSNumber)?.int64Value else { return nil }
            return (line, id)
        }
    }
}

/// SplitMix64: the run's choices (workload, kill counts) are a function of the printed seed.
struct ProveRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return DemoRandom.mix(state)
    }
}
