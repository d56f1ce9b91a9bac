import Foundation
import Logging
import PostgresNIO
@testable import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

// Issue 17 ("proof"): a server restart in the middle of enqueue group commits and of effect-ledger
// writes loses and duplicates nothing, and the worker recovers by itself. Claims and outcome
// batches across a restart: ServerRestartTests.swift. Each test starts a PostgreSQL cluster of its
// own (OwnServer, scripts/postgres.sh, durable settings) and restarts it twice in the middle of
// the writes: once hard (`kill`: every backend killed at once, no checkpoint; connections just
// drop) and once fast (`stop`: every session is sent FATAL 57P01, then a checkpoint), in an order,
// at moments and for outages drawn from the printed seed (SURETY_TEST_SEED=<seed> repeats them).

/// Runs `body` with a cluster of its own (its URL), stopped and removed afterwards, also on failure.
private func withOwnServer<T>(_ name: String, _ body: (OwnServer, String) async throws -> T) async throws -> T {
    let server = OwnServer(directory: FileManager.default.temporaryDirectory.appendingPathComponent("surety-\(name)-\(UUID().uuidString)"))
    let started = try await server.script("start")
    let url = try #require(started.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }).map(String.init))
    do {
        let value = try await body(server, url)
        try await server.script("stop")
        try? FileManager.default.removeItem(at: server.directory)
        return value
    } catch {
        _ = try? await server.script("stop")
        try? FileManager.default.removeItem(at: server.directory)
        throw error
    }
}

/// One restart of the server, drawn from the test's seed.
private struct Restart: CustomStringConvertible {
    /// `kill` (immediate) or `stop` (fast).
    var hard: Bool
    /// How long the server stays down (the fault's timing), besides the scripts' own time. Up to
    /// 8 s: past the store's operationTimeout (5 s here), so that some calls give up waiting.
    var outage: Duration
    /// The share of the work done before the server goes down.
    var after: Double

    /// Two restarts, one of each kind in a seeded order, the first at 10–30 % of the work and
    /// the second at 45–65 %.
    static func plan(using random: inout SeededGenerator) -> [Restart] {
        let hardFirst = Bool.random(using: &random)
        return [(hardFirst, 0.1...0.3), (!hardFirst, 0.45...0.65)].map { hard, share in
            Restart(hard: hard, outage: .milliseconds(Int.random(in: 300...8000, using: &random)), after: Double.random(in: share, using: &random))
        }
    }

    var description: String { "\(hard ? "kill (immediate)" : "stop (fast)") at \(Int(after * 100)) % of the work, down for \(outage) plus the scripts' own time" }

    /// Stops the server, keeps it down for `outage`, starts it again (same folder, same port).
    func perform(on server: OwnServer) async throws {
        try await server.script(hard ? "kill" : "stop")
        try await Task.sleep(for: outage)
        try await server.script("resume")
    }
}

private func seedFromEnvironment() -> UInt64 {
    ProcessInfo.processInfo.environment["SURETY_TEST_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The answer of `operation`, or `nil` when it gave none within `bound`. The operation is then
/// left behind in a task of its own: a hung call fails the test instead of hanging it.
private func answer<T: Sendable>(within bound: Duration, _ operation: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    await AnswerDeadline.first(of: { () async -> Result<T, any Error>? in
        do { return .success(try await operation()) } catch { return .failure(error) }
    }, or: bound) { nil }
}

// MARK: Enqueue group commits

/// What the enqueuers saw: every call, every acknowledged logical job, every error.
private final class EnqueueTally: Sendable {
    struct State {
        /// Logical job → the id its acknowledged enqueue returned.
        var acknowledged: [String: JobID] = [:]
        /// Logical jobs acknowledged by a retry as already there (`inserted == false`): an earlier
        /// call had written them and its caller had not been told.
        var foundOnRetry = 0
        /// Logical jobs without a unique key whose one enqueue call failed (outcome unknown).
        var unknown: Set<String> = []
        var transientErrors = 0
        /// The transient errors' messages (their first 70 characters), counted.
        var transientMessages: [String: Int] = [:]
        var otherErrors: [String] = []
        var hung: [String] = []
        var calls: [(started: ContinuousClock.Instant, ended: ContinuousClock.Instant)] = []
    }

    let state = Mutex(State())
    /// Set once the enqueuers should stop starting new logical jobs.
    let stopProducing = Atomic<Bool>(false)
    /// Enqueuers that have ended.
    let finished = Atomic<Int>(0)
    /// The most calls seen waiting for a group write at once (sampled): calls that share the
    /// next group commit.
    let mostWaiting = Atomic<Int>(0)

    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }
}

@Suite(
    "PostgreSQL server restart in the middle of writes",
    .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"),
    .timeLimit(.minutes(5))
)
struct ServerRestartWritesTests {
    /// Concurrent enqueuers through ``PostgresStore/enqueue(_:)`` (the enqueue group commit) while
    /// the server goes down and comes back. Keyed enqueuers (most) retry each call on a transient
    /// error until it is acknowledged, as an application does, with one unique key per logical
    /// job; keyless enqueuers call once and do not retry (an unknown outcome may be there or not,
    /// never twice), so that groups mix keyed and keyless calls.
    @Test("a server restart in the middle of enqueue group commits: every acknowledged job exists once, none twice, every call returns")
    func enqueueGroupCommits() async throws {
        let seed = seedFromEnvironment()
        var random = SeededGenerator(state: seed)
        let restarts = Restart.plan(using: &random)
        say("restart-writes enqueue: seed \(seed) (SURETY_TEST_SEED=\(seed) repeats it); restarts: \(restarts)")
        let began = ContinuousClock.now
        var report = try await withOwnServer("restart-enqueue") { server, url in
            try await enqueueGroupCommits(server: server, url: url, seed: seed, restarts: restarts)
        }
        say("restart-writes enqueue: seed \(seed); took \(String(format: "%.1f", seconds(ContinuousClock.now - began))) s")
        report.seconds = seconds(ContinuousClock.now - began)
        report.append()
    }

    /// Returns the run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), its time still to be set.
    private func enqueueGroupCommits(server: OwnServer, url: String, seed: UInt64, restarts: [Restart]) async throws -> GuaranteeReport {
        let keyedEnqueuers = 40
        let keylessEnqueuers = 8
        /// The restarts begin at their seeded shares of this many acknowledged jobs.
        let nominalJobs = 2000
        /// Logical jobs acknowledged after the server is back the last time, before the enqueuers stop.
        let afterResume = 300
        /// No call may take longer (the store's own bound is operationTimeout, 5 s, per write).
        let callBound: Duration = .seconds(30)
        var configuration = try PostgresStore.Configuration(url: url, schema: "restart_enqueue")
        configuration.maximumConnections = 6
        configuration.connectTimeout = .seconds(5)
        configuration.operationTimeout = .seconds(5)
        let capture = LogCapture()
        return try await PostgresStore.withStore(configuration: configuration, logger: capture.logger(label: "surety.postgres", level: .info)) { store in
            try await store.migrate()
            let tally = EnqueueTally()
            let now = Date()
            @Sendable func newJob(_ logical: String, keyed: Bool) -> NewJob {
                NewJob(
                    type: "test.restart-enqueue", queue: "default", priority: 0, tenant: .system, payload: #"{"logical":"\#(logical)"}"#,
                    runAt: now, enqueuedAt: now, maxAttempts: 3, uniqueKey: keyed ? logical : nil, uniqueScope: .forever
                )
            }
            // Each enqueuer's own generator, from the seed: batch sizes, pauses, retry backoff.
            // The pauses shape the load (an application's requests arrive spread out); they
            // synchronise nothing.
            let keyed = { @Sendable (enqueuer: Int) async in
                var random = SeededGenerator(state: seed &+ UInt64(enqueuer + 1) &* 0x2545_F491_4F6C_DD1D)
                var next = 0
                while !tally.stopProducing.load(ordering: .relaxed) {
                    let size = Int.random(in: 1...4, using: &random)
                    let logical = (next..<(next + size)).map { "k-\(enqueuer)-\($0)" }
                    next += size
                    let jobs = logical.map { newJob($0, keyed: true) }
                    var tries = 0
                    retrying: while true {
                        tries += 1
                        let started = ContinuousClock.now
                        let result = await answer(within: callBound) { try await store.enqueue(jobs) }
                        let ended = ContinuousClock.now
                        let done = tally.state.withLock { state -> Bool in
                            state.calls.append((started, ended))
                            switch result {
                            case nil:
                                state.hung.append("keyed \(logical) (try \(tries))")
                            case .success(let enqueued) where enqueued.count == jobs.count:
                                for (name, job) in zip(logical, enqueued) {
                                    state.acknowledged[name] = job.id
                                    if !job.inserted { state.foundOnRetry += 1 }
                                }
                                return true
                            case .success(let enqueued):
                                state.otherErrors.append("keyed \(logical): \(enqueued.count) results for \(jobs.count) jobs")
                            case .failure(let error as SuretyError) where error.code == .storeUnavailable:
                                state.transientErrors += 1
                                state.transientMessages[String(error.message.prefix(70)), default: 0] += 1
                            case .failure(let error):
                                state.otherErrors.append("keyed \(logical): \(error)")
                            }
                            return false
                        }
                        if done { break retrying }
                        if tries >= 300 {
                            tally.state.withLock { $0.otherErrors.append("keyed \(logical): gave up after \(tries) tries") }
                            return
                        }
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 50...250, using: &random)))
                    }
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 0...15, using: &random)))
                }
            }
            let keyless = { @Sendable (enqueuer: Int) async in
                var random = SeededGenerator(state: seed &+ UInt64(1000 + enqueuer) &* 0x2545_F491_4F6C_DD1D)
                var next = 0
                while !tally.stopProducing.load(ordering: .relaxed) {
                    let size = Int.random(in: 1...3, using: &random)
                    let logical = (next..<(next + size)).map { "u-\(enqueuer)-\($0)" }
                    next += size
                    let started = ContinuousClock.now
                    let result = await answer(within: callBound) { try await store.enqueue(logical.map { newJob($0, keyed: false) }) }
                    let ended = ContinuousClock.now
                    tally.state.withLock { state in
                        state.calls.append((started, ended))
                        switch result {
                        case nil:
                            state.hung.append("keyless \(logical)")
                            state.unknown.formUnion(logical)
                        case .success(let enqueued) where enqueued.count == logical.count && enqueued.allSatisfy(\.inserted):
                            for (name, job) in zip(logical, enqueued) { state.acknowledged[name] = job.id }
                        case .success(let enqueued):
                            state.otherErrors.append("keyless \(logical): \(enqueued)")
                        case .failure(let error as SuretyError) where error.code == .storeUnavailable:
                            state.transientErrors += 1
                            state.transientMessages[String(error.message.prefix(70)), default: 0] += 1
                            state.unknown.formUnion(logical)
                        case .failure(let error):
                            state.otherErrors.append("keyless \(logical): \(error)")
                            state.unknown.formUnion(logical)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 0...20, using: &random)))
                }
            }

            /// When each restart began and ended, and the jobs acknowledged when it began.
            var outages: [(stopped: ContinuousClock.Instant, resumed: ContinuousClock.Instant, acknowledged: Int)] = []
            var waitingAtStop: [Int] = []
            try await withThrowingTaskGroup(of: Void.self) { group in
                for enqueuer in 0..<keyedEnqueuers {
                    group.addTask {
                        await keyed(enqueuer)
                        tally.finished.add(1, ordering: .relaxed)
                    }
                }
                for enqueuer in 0..<keylessEnqueuers {
                    group.addTask {
                        await keyless(enqueuer)
                        tally.finished.add(1, ordering: .relaxed)
                    }
                }
                // Samples how many calls wait for the group write in progress (observation only).
                group.addTask {
                    while !tally.stopProducing.load(ordering: .relaxed) {
                        tally.mostWaiting.max(store.enqueueGroup.waitingCount, ordering: .relaxed)
                        try? await Task.sleep(for: .milliseconds(2))
                    }
                }
                do {
                    var acknowledgedAtResume = 0
                    for restart in restarts {
                        let due = max(Int(Double(nominalJobs) * restart.after), acknowledgedAtResume + 100)
                        try await eventuallyTrue("\(due) jobs acknowledged before a restart", timeout: .seconds(90)) { tally.acknowledgedCount >= due }
                        let acknowledged = tally.acknowledgedCount
                        waitingAtStop.append(store.enqueueGroup.waitingCount)
                        let stopped = ContinuousClock.now
                        phase("enqueue: \(restart.hard ? "killing" : "stopping") the server with \(acknowledged) jobs acknowledged")
                        try await restart.perform(on: server)
                        let resumed = ContinuousClock.now
                        outages.append((stopped, resumed, acknowledged))
                        acknowledgedAtResume = tally.acknowledgedCount
                        phase("enqueue: server back after \(String(format: "%.2f", seconds(resumed - stopped))) s; \(acknowledgedAtResume) jobs acknowledged")
                    }
                    let last = acknowledgedAtResume
                    try await eventuallyTrue("\(afterResume) more jobs acknowledged after the restarts", timeout: .seconds(90)) {
                        tally.acknowledgedCount >= last + afterResume
                    }
                } catch {
                    tally.stopProducing.store(true, ordering: .relaxed)
                    throw error
                }
                tally.stopProducing.store(true, ordering: .relaxed)
                // Each call is bounded (callBound) and each enqueuer gives up after 300 tries, so
                // the enqueuers end; this bounds the wait for their last calls once more.
                try await eventuallyTrue("the enqueuers' last calls", timeout: .seconds(120)) {
                    tally.finished.load(ordering: .relaxed) == keyedEnqueuers + keylessEnqueuers
                }
                try await group.waitForAll()
            }

            // What the database holds, by logical job (the payload), independently of the keys.
            let rows = try await store.query("test: logical jobs", """
                SELECT payload::jsonb->>'logical', id, unique_key FROM restart_enqueue.surety_jobs
                """) { rows in
                try await rows.collect { (try $0[0].decode(String.self), JobID(try $0[1].decode(Int64.self)), try $0[2].decode(String?.self)) }
            }
            let stored = Dictionary(grouping: rows, by: \.0)
            let seen = tally.state.withLock { $0 }
            // Calls in flight when a restart began, and calls that overlapped an outage.
            let inFlightAtStop = outages.map { outage in seen.calls.filter { $0.started < outage.stopped && $0.ended > outage.stopped }.count }
            let duringOutage = outages.map { outage in seen.calls.filter { $0.started < outage.resumed && $0.ended > outage.stopped }.count }
            let longest = seen.calls.map { $0.ended - $0.started }.max() ?? .zero
            let storedUnknown = seen.unknown.filter { stored[$0] != nil }.count
            say("restart-writes enqueue: \(seen.calls.count) calls (in flight when each restart began \(inFlightAtStop), overlapping each outage \(duringOutage), longest \(String(format: "%.2f", seconds(longest))) s); \(seen.acknowledged.count) jobs acknowledged (\(outages.map(\.acknowledged)) when the restarts began), \(seen.foundOnRetry) found already written by a retry; \(seen.transientErrors) transient errors; \(seen.unknown.count) keyless jobs with an unknown outcome, \(storedUnknown) of them stored; \(rows.count) rows")
            let mostWaiting = tally.mostWaiting.load(ordering: .relaxed)
            say("restart-writes enqueue: calls waiting for a group write: at most \(mostWaiting) (sampled), \(waitingAtStop) when the restarts began")
            say("restart-writes enqueue: transient errors by message \(seen.transientMessages.sorted { $0.key < $1.key })")

            #expect(seen.hung.isEmpty, "enqueue calls gave no answer within \(callBound): \(seen.hung.prefix(10))")
            #expect(seen.otherErrors.isEmpty, "enqueue calls failed with other than a transient error: \(seen.otherErrors.prefix(10))")
            // Not every call in flight fails: one the fast stop ends with FATAL 57P01 (nothing
            // written) is written again by the group commit and waits for the server.
            #expect(duringOutage.allSatisfy { $0 > 0 }, "no enqueue call overlapped an outage: the test proved nothing")
            #expect(inFlightAtStop.reduce(0, +) > 0, "no enqueue call was in flight when a restart began: the test proved nothing")
            #expect(mostWaiting > 1, "no two enqueue calls ever shared a group write: the test proved nothing about group commits")
            // Every acknowledged job is stored once, with the id its enqueue returned.
            for (logical, id) in seen.acknowledged {
                let copies = stored[logical] ?? []
                #expect(copies.count == 1 && copies.first?.1 == id, "job \(logical) was acknowledged as \(id) and is stored \(copies.count) times: \(copies.map(\.1))")
            }
            // No logical job is stored twice, and nothing is stored that nobody enqueued: a keyed
            // job only once acknowledged (its caller retried until it was), a keyless one also
            // when its one call's outcome was unknown.
            for (logical, copies) in stored {
                #expect(copies.count == 1, "job \(logical) is stored \(copies.count) times: \(copies.map(\.1))")
                #expect(seen.acknowledged[logical] != nil || seen.unknown.contains(logical), "job \(logical) is stored but was never enqueued or acknowledged")
            }
            #expect(seen.acknowledged.count >= (outages.last?.acknowledged ?? 0) + afterResume)

            // The counts above: an acknowledged job not stored under its returned id is lost; a
            // logical job stored more than once is a duplicate; a stored job nobody enqueued, a
            // call that never returned or failed otherwise, fails the run too.
            let lost = seen.acknowledged.filter { logical, id in
                let copies = stored[logical] ?? []
                return copies.isEmpty || (copies.count == 1 && copies.first?.1 != id)
            }.count
            let duplicates = stored.values.map { max(0, $0.count - 1) }.reduce(0, +)
            let phantoms = stored.keys.filter { seen.acknowledged[$0] == nil && !seen.unknown.contains($0) }.count
            return GuaranteeReport(
                fault: "restart mid enqueue group commits", jobs: seen.acknowledged.count, faults: outages.count, lost: lost,
                duplicateEffects: duplicates, concurrentRuns: nil, tenantMismatches: nil, seed: seed, seconds: 0,
                holds: lost == 0 && duplicates == 0 && phantoms == 0 && seen.hung.isEmpty && seen.otherErrors.isEmpty,
                notes: "\(GuaranteeReport.singleTenant); jobs: acknowledged enqueues; duplicate effects: jobs stored twice; no job runs (concurrent runs n/a); \(seen.calls.count) calls, \(seen.foundOnRetry) jobs found already written by a retry, \(seen.unknown.count) keyless with an unknown outcome (\(storedUnknown) stored, none twice), \(phantoms) stored unasked, \(seen.hung.count) calls unanswered; restarts: \(restarts.map { $0.hard ? "kill" : "stop" }.joined(separator: ", then ")), down \(restarts.map { String(format: "%.1f", seconds($0.outage)) }.joined(separator: " and ")) s plus the scripts"
            )
        }
    }

    // MARK: Effect writes

    /// Jobs that each perform one ledger-guarded effect, half against an endpoint that honours
    /// idempotency keys (policy `.rerunWithSameKey`), half against one that does not (the
    /// default `.stopInDoubt`), while the server goes down and comes back under a running worker.
    @Test("a server restart in the middle of effect writes: no job lost, no effect performed twice, every attempt in the history, the worker recovers by itself")
    func effectWrites() async throws {
        let seed = seedFromEnvironment()
        var random = SeededGenerator(state: seed)
        let restarts = Restart.plan(using: &random)
        say("restart-writes effects: seed \(seed) (SURETY_TEST_SEED=\(seed) repeats it); restarts: \(restarts)")
        let began = ContinuousClock.now
        var report = try await withOwnServer("restart-effects") { server, url in
            try await effectWrites(server: server, url: url, restarts: restarts)
        }
        say("restart-writes effects: seed \(seed); took \(String(format: "%.1f", seconds(ContinuousClock.now - began))) s")
        report.seed = seed
        report.seconds = seconds(ContinuousClock.now - began)
        report.append()
    }

    /// Returns the run's line of docs/guarantees.md (SURETY_GUARANTEES_OUT), its seed and time still to be set.
    private func effectWrites(server: OwnServer, url: String, restarts: [Restart]) async throws -> GuaranteeReport {
        let initialJobs = 1200
        let laterJobs = 100
        var configuration = try PostgresStore.Configuration(url: url, schema: "restart_effects")
        configuration.maximumConnections = 8
        configuration.connectTimeout = .seconds(5)
        configuration.operationTimeout = .seconds(5)
        let capture = LogCapture()
        return try await PostgresStore.withStore(configuration: configuration, logger: capture.logger(label: "surety.postgres", level: .info)) { store in
            try await store.migrate()
            let provider = RestartEffectProvider(latency: .milliseconds(40))
            var dependencies = JobDependencies()
            dependencies.register(provider)
            let registry = JobRegistry([RestartEffectJob.self])
            let queue = JobQueue(store: store, registry: registry)
            var honouring: Set<JobID> = []
            var all: [JobID] = []
            for chunk in 0..<(initialJobs / 100) {
                let jobs = (0..<100).map { RestartEffectJob(honoursKeys: ($0 + chunk) % 2 == 0) }
                let ids = try await queue.enqueue(jobs, tenant: .system).map(\.id)
                all += ids
                for (job, id) in zip(jobs, ids) where job.honoursKeys { honouring.insert(id) }
            }
            let worker = Worker(
                store: store, registry: registry,
                configuration: WorkerConfiguration(
                    concurrency: 16, leaseDuration: .seconds(10), heartbeatInterval: .seconds(1), pollInterval: .milliseconds(200),
                    rescueInterval: .seconds(1), shutdownGracePeriod: .seconds(10), workerID: "restart-effects"
                ),
                dependencies: dependencies, logger: capture.logger(label: "surety.worker", level: .info)
            )
            let workerEnded = Atomic<Bool>(false)
            let workerTask = Task {
                defer { workerEnded.store(true, ordering: .relaxed) }
                try await worker.run()
            }
            /// When each restart began and ended, and the effects the provider had seen when it began.
            var outages: [(stopped: ContinuousClock.Instant, resumed: ContinuousClock.Instant, seen: Int)] = []
            do {
                var seenAtResume = 0
                for restart in restarts {
                    // While effects are being begun and confirmed: some but not all seen.
                    let due = max(Int(Double(initialJobs) * restart.after), seenAtResume + 50)
                    try await eventuallyTrue("the provider sees \(due) effects", timeout: .seconds(90)) { provider.distinctKeys >= due }
                    let seen = provider.distinctKeys
                    let stopped = ContinuousClock.now
                    phase("effects: \(restart.hard ? "killing" : "stopping") the server with \(seen) effects seen by the provider")
                    try await restart.perform(on: server)
                    let resumed = ContinuousClock.now
                    outages.append((stopped, resumed, seen))
                    seenAtResume = provider.distinctKeys
                    phase("effects: server back after \(String(format: "%.2f", seconds(resumed - stopped))) s; \(seenAtResume) effects seen")
                }

                // Jobs enqueued once the store answers again: the same worker runs them.
                try await eventuallyTrue("the store answers after the restart", timeout: .seconds(60)) {
                    let answered = await answer(within: .seconds(10)) {
                        try await store.query("test: probe", "SELECT 1") { rows in try await rows.collect { try $0[0].decode(Int.self) } }
                    }
                    if case .success = answered { return true }
                    return false
                }
                for index in 0..<laterJobs {
                    let job = RestartEffectJob(honoursKeys: index % 2 == 0)
                    // A unique key makes the retry of a call whose outcome was unknown harmless.
                    let options = EnqueueOptions(uniqueKey: "later-\(index)")
                    var enqueued: EnqueuedJob?
                    try await eventuallyTrue("job later-\(index) enqueued", timeout: .seconds(30)) {
                        enqueued = try? await queue.enqueue(job, tenant: .system, options: options)
                        return enqueued != nil
                    }
                    if let id = enqueued?.id {
                        all.append(id)
                        if job.honoursKeys { honouring.insert(id) }
                    }
                }
                try await eventuallyTrue("every job is completed or dead", timeout: .seconds(150)) {
                    let states = try await jobStates(store)
                    return states.keys.allSatisfy { ["completed", "dead"].contains($0) } && states.values.reduce(0, +) == all.count
                }
                let endedEarly = workerEnded.load(ordering: .relaxed)
                #expect(!endedEarly, "the worker stopped by itself")
                phase("effects: every job ended; draining the worker")
                worker.beginDrain()
                try await eventuallyTrue("the worker stops after its drain", timeout: .seconds(30)) { workerEnded.load(ordering: .relaxed) }
            } catch {
                worker.beginDrain()
                try? await eventuallyTrue("the worker stops after its drain", timeout: .seconds(30)) { workerEnded.load(ordering: .relaxed) }
                workerTask.cancel()
                throw error
            }
            try await workerTask.value

            var records: [JobRecord] = []
            for id in all { if let record = try await store.job(id) { records.append(record) } }
            let calls = provider.calls
            let runs = provider.runs
            let callsOf = Dictionary(grouping: calls, by: \.job)
            let runsOf = Dictionary(grouping: runs, by: \.job)
            var historyOf: [JobID: [AttemptRecord]] = [:]
            for id in all { historyOf[id] = try await store.attempts(of: id) }
            var effectsOf: [JobID: [EffectRecord]] = [:]
            for id in all { effectsOf[id] = try await store.effects(of: id) }

            let inFlightAtStop = outages.map { outage in runs.filter { $0.started < outage.stopped && ($0.ended ?? .now) > outage.stopped }.count }
            let failedRuns = runs.filter { !$0.succeeded }
            let failures = Dictionary(grouping: failedRuns, by: { String(($0.error ?? "").prefix(60)) }).mapValues(\.count)
            let states = Dictionary(grouping: records, by: { "\($0.state.rawValue)\($0.deadReason.map { " (\($0.rawValue))" } ?? "")" }).mapValues(\.count)
            let outcomes = Dictionary(grouping: historyOf.values.flatMap { $0 }, by: { $0.outcome?.rawValue ?? "running" }).mapValues(\.count)
            let rerun = honouring.filter { (callsOf[$0]?.count ?? 0) > 1 }.count
            say("restart-writes effects: \(all.count) jobs (\(honouring.count) against the endpoint that honours keys); \(outages.map(\.seen)) effects seen when the restarts began, \(inFlightAtStop) attempts in flight then; states \(states.sorted { $0.key < $1.key }); attempts by outcome \(outcomes.sorted { $0.key < $1.key }); \(calls.count) provider calls, \(calls.filter(\.performed).count) performed; \(rerun) honouring jobs called the provider again with their key")
            say("restart-writes effects: runs that failed, by error: \(failures.sorted { $0.key < $1.key })")
            let warnings = Dictionary(grouping: capture.entries.filter { $0.level >= .warning }, by: \.message).mapValues(\.count)
            say("restart-writes effects: warnings \(warnings.sorted { $0.key < $1.key }.prefix(12))")

            #expect(records.count == all.count, "\(all.count - records.count) jobs are missing from the store")
            #expect(outages.allSatisfy { $0.seen < initialJobs }, "every effect had been seen before a restart: the test proved nothing")
            #expect(inFlightAtStop.allSatisfy { $0 > 0 }, "no attempt was in flight when a restart began: the test proved nothing")
            for record in records {
                let id = record.id
                let honours = honouring.contains(id)
                let mine = callsOf[id] ?? []
                let history = historyOf[id] ?? []
                let effects = effectsOf[id] ?? []
                let summary = "job \(id) (\(honours ? "honours keys" : "ignores keys")): \(record.state.rawValue) \(record.deadReason?.rawValue ?? ""); calls \(mine.map { "#\($0.attempt)\($0.performed ? " performed" : "")" }); history \(history.map { "#\($0.attempt) \($0.outcome?.rawValue ?? "running")" }); ledger \(effects.map { "\($0.state.rawValue) #\($0.attempt)" })"

                // Nothing lost: completed, or dead for a reason (an effect in doubt is the only
                // one this test can cause; with the `.rerunWithSameKey` policy, none).
                #expect(record.state == .completed || (record.state == .dead && record.deadReason == .inDoubt), "\(summary)")
                if honours { #expect(record.state == .completed, "\(summary)") }
                // The effect happened at most once: the provider performed once per job, and
                // every call of a job carried the job's one idempotency key.
                #expect(mine.filter(\.performed).count <= 1, "performed twice: \(summary)")
                #expect(Set(mine.map(\.key)).count <= 1, "several idempotency keys: \(summary)")
                // An effect in doubt stops: the endpoint that ignores keys was called at most once.
                if !honours { #expect(mine.count <= 1, "called again after an attempt whose effect may have happened: \(summary)") }
                if record.state == .completed {
                    #expect(mine.filter(\.performed).count == 1, "completed without its effect: \(summary)")
                    #expect(effects.count == 1 && effects.first?.state == .confirmed, "completed without a confirmed ledger record: \(summary)")
                }
                if record.state == .dead {
                    #expect(effects.count == 1 && effects.first?.state == .started, "in doubt without a started ledger record: \(summary)")
                }
                // Every attempt is in the history: each run of the body is recorded under its
                // attempt number with its result, and a recorded attempt that never ran was
                // claimed and lost or released (its claim's answer lost with the server).
                var unmatched = history
                for run in runsOf[id] ?? [] {
                    let match = unmatched.firstIndex { record in
                        record.attempt == run.attempt && (run.succeeded == (record.outcome == .succeeded) || record.outcome == .lost)
                    }
                    if let match {
                        unmatched.remove(at: match)
                    } else {
                        Issue.record("run #\(run.attempt) (\(run.succeeded ? "succeeded" : run.error ?? "failed")) is not in the history: \(summary)")
                    }
                }
                #expect(unmatched.allSatisfy { $0.outcome == .lost || $0.outcome == .interrupted }, "attempts recorded that never ran: \(unmatched.map { "#\($0.attempt) \($0.outcome?.rawValue ?? "running")" }); \(summary)")
                #expect(history.filter { $0.outcome == .succeeded }.count == (record.state == .completed ? 1 : 0), "\(summary)")
            }

            // The counts above: a job missing, or neither completed nor stopped in doubt, is lost;
            // a performance beyond a job's first is a duplicate effect; a run of a job that began
            // before another run of it had ended is a concurrent run (from the recorded runs).
            let settled = records.filter { $0.state == .completed || ($0.state == .dead && $0.deadReason == .inDoubt) }
            let lost = (all.count - records.count) + (records.count - settled.count)
            let duplicates = callsOf.values.map { max(0, $0.filter(\.performed).count - 1) }.reduce(0, +)
            let concurrent = runsOf.values.map { runs -> Int in
                var overlapping = 0
                var latestEnd: ContinuousClock.Instant?
                for run in runs.sorted(by: { $0.started < $1.started }) {
                    if let latestEnd, run.started < latestEnd { overlapping += 1 }
                    let end = run.ended ?? .now
                    latestEnd = max(latestEnd ?? end, end)
                }
                return overlapping
            }.reduce(0, +)
            let honouringUnfinished = records.filter { honouring.contains($0.id) && $0.state != .completed }.count
            let inDoubt = records.filter { $0.state == .dead }.count
            return GuaranteeReport(
                fault: "restart mid effect writes", jobs: all.count, faults: outages.count, lost: lost,
                duplicateEffects: duplicates, concurrentRuns: concurrent, tenantMismatches: nil, seed: nil, seconds: 0,
                holds: lost == 0 && duplicates == 0 && concurrent == 0 && honouringUnfinished == 0,
                notes: "\(GuaranteeReport.singleTenant); duplicate effects: performances beyond a job's first, by the provider; stopped dead in_doubt: \(inDoubt) (endpoint without keys); called again with their key: \(rerun) (endpoint with keys); restarts: \(restarts.map { $0.hard ? "kill" : "stop" }.joined(separator: ", then ")), down \(restarts.map { String(format: "%.1f", seconds($0.outage)) }.joined(separator: " and ")) s plus the scripts"
            )
        }
    }

    func jobStates(_ store: PostgresStore) async throws -> [String: Int] {
        let rows = try await store.query("test: states", PostgresQuery(unsafeSQL: "SELECT state, count(*) FROM \"\(store.configuration.schema)\".surety_jobs GROUP BY state")) { rows in
            try await rows.collect { (try $0[0].decode(String.self), try $0[1].decode(Int.self)) }
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }
}

/// A provider of one kind of effect, recording every call and every run of the job bodies that
/// call it. The endpoint that honours idempotency keys performs a key's effect once and answers
/// later calls with the same key with the first answer; the other performs on every call.
final class RestartEffectProvider: Sendable {
    struct Call: Sendable {
        var job: JobID
        var attempt: Int
        var key: String
        /// Whether this call performed the effect (not answered from an earlier call's key).
        var performed: Bool
    }

    struct Run: Sendable {
        var job: JobID
        var attempt: Int
        var started: ContinuousClock.Instant
        var ended: ContinuousClock.Instant?
        var succeeded = false
        var error: String?
    }

    private struct State {
        var calls: [Call] = []
        var receipts: [String: String] = [:]
        var runs: [Run] = []
    }

    private let state = Mutex(State())
    /// How long the provider's answer takes to come back (the effect has happened by then).
    let latency: Duration

    init(latency: Duration) { self.latency = latency }

    func perform(job: JobID, attempt: Int, key: String, honoursKeys: Bool) async throws -> String {
        let receipt = state.withLock { state -> String in
            if honoursKeys, let earlier = state.receipts[key] {
                state.calls.append(Call(job: job, attempt: attempt, key: key, performed: false))
                return earlier
            }
            let receipt = "receipt-\(state.calls.count)"
            state.receipts[key] = receipt
            state.calls.append(Call(job: job, attempt: attempt, key: key, performed: true))
            return receipt
        }
        try await Task.sleep(for: latency)
        return receipt
    }

    func begin(job: JobID, attempt: Int) -> Int {
        state.withLock { state in
            state.runs.append(Run(job: job, attempt: attempt, started: .now))
            return state.runs.count - 1
        }
    }

    func end(_ index: Int, error: (any Error)?) {
        state.withLock { state in
            state.runs[index].ended = .now
            state.runs[index].succeeded = error == nil
            state.runs[index].error = error.map { "\(type(of: $0)): \($0)" }
        }
    }

    var calls: [Call] { state.withLock { $0.calls } }
    var runs: [Run] { state.withLock { $0.runs } }
    /// Distinct idempotency keys seen (effects begun at the provider).
    var distinctKeys: Int { state.withLock { $0.receipts.count } }
}

/// A job whose one effect goes through the ledger (`context.effect`) to ``RestartEffectProvider``.
struct RestartEffectJob: Job {
    static let name = "test.restart-effect"
    static let options = JobOptions(maxAttempts: 25, backoff: .constant(.milliseconds(100)), timeout: .seconds(60))
    var honoursKeys: Bool

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(RestartEffectProvider.self)
        let run = provider.begin(job: context.id, attempt: context.attempt)
        do {
            let honoursKeys = honoursKeys
            let id = context.id
            let attempt = context.attempt
            _ = try await context.effect("send", policy: honoursKeys ? .rerunWithSameKey : .stopInDoubt) { key in
                try await provider.perform(job: id, attempt: attempt, key: key, honoursKeys: honoursKeys)
            }
            provider.end(run, error: nil)
        } catch {
            provider.end(run, error: error)
            throw error
        }
    }
}
