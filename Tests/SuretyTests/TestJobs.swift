import Foundation
import Surety
import SuretyTesting
import Synchronization


/// Counts calls per key, shared by the test and its jobs.
final class Counter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    @discardableResult
    func increment(_ key: String) -> Int { counts.withLock { $0[key, default: 0] += 1; return $0[key]! } }
    func value(_ key: String) -> Int { counts.withLock { $0[key, default: 0] } }
}

struct ProviderDown: Error, CustomStringConvertible {
    var detail: String
    var description: String { "502 bad gateway: \(detail)" }
}

struct SucceedingJob: Job {
    static let name = "test.succeed"
    var note: String
    func run(_ context: JobContext) async throws {
        try context.dependency(Counter.self).increment("succeed:\(context.id)")
    }
}

struct FlakyJob: Job {
    static let name = "test.flaky"
    static let options = JobOptions(maxAttempts: 3, backoff: .exponential(initial: .seconds(10), factor: 2, cap: .seconds(100), jitter: 0.2), retryBudget: nil)
    static let secretFields: Set<String> = ["apiKey"]
    var failures: Int
    var apiKey: String
    func run(_ context: JobContext) async throws {
        if context.attempt <= failures { throw ProviderDown(detail: "rejected key \(apiKey)") }
    }
}

struct DecliningJob: Job {
    static let name = "test.declining"
    func run(_ context: JobContext) async throws { throw PermanentFailure("card declined") }
}

struct SnoozingJob: Job {
    static let name = "test.snoozing"
    func run(_ context: JobContext) async throws {
        if try context.dependency(Counter.self).increment("snooze:\(context.id)") == 1 { throw Snooze(for: .seconds(45)) }
    }
}

struct HangingJob: Job {
    static let name = "test.hanging"
    static let options = JobOptions(timeout: .seconds(20))
    func run(_ context: JobContext) async throws {
        try await context.clock.sleep(for: .seconds(86_400))
    }
}

struct GatedJob: Job {
    static let name = "test.gated"
    static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(1)))
    func run(_ context: JobContext) async throws {
        let counter = try context.dependency(Counter.self)
        counter.increment("gated-start:\(context.attempt)")
        if context.attempt == 1 { try await context.dependency(Gate.self).wait() }
        counter.increment("gated-done:\(context.attempt)")
    }
}

struct IgnoresCancellationJob: Job {
    static let name = "test.ignores-cancellation"
    func run(_ context: JobContext) async throws {
        try await context.dependency(Gate.self).wait()
        try context.dependency(Counter.self).increment("finished-anyway")
    }
}

/// A worker wired to a memory store and a test clock, with its events recorded.
struct Harness {
    let store: any JobInspectionStore & OperatorActionStore
    let clock: TestClock
    let events = EventRecorder()
    let counter = Counter()
    let gate = Gate()
    let logs = LogCapture()
    let registry: JobRegistry

    init(store: any JobInspectionStore & OperatorActionStore = MemoryStore(), clock: TestClock = TestClock(), extraTypes: [any Job.Type] = []) {
        self.store = store
        self.clock = clock
        registry = JobRegistry([SucceedingJob.self, FlakyJob.self, DecliningJob.self, SnoozingJob.self, HangingJob.self, GatedJob.self, IgnoresCancellationJob.self] + extraTypes)
    }

    var queue: JobQueue { JobQueue(store: store, registry: registry, clock: clock) }

    func worker(id: String = "w1", concurrency: Int = 4, lease: Duration = .seconds(30), heartbeat: Duration? = nil, rescue: Duration? = nil, grace: Duration = .seconds(25)) -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(counter)
        dependencies.register(gate)
        return Worker(
            store: store, registry: registry,
            configuration: WorkerConfiguration(
                concurrency: concurrency, leaseDuration: lease, heartbeatInterval: heartbeat, rescueInterval: rescue,
                shutdownGracePeriod: grace, workerID: id, onEvent: events.record
            ),
            dependencies: dependencies, clock: clock, logger: logs.logger(label: "surety.worker")
        )
    }

    /// Moves the injected clock forward by `duration`, then in 1-second steps (the worker's poll
    /// interval) until an event matching `predicate` is recorded. Each step awaits the event
    /// briefly; the measured times are the injected clock's, not the machine's.
    @discardableResult
    func advance(by duration: Duration, until predicate: @escaping @Sendable (WorkerEvent) -> Bool, maxSteps: Int = 120) async throws -> WorkerEvent {
        clock.advance(by: duration)
        for _ in 0..<maxSteps {
            if let event = try? await events.first(timeout: .milliseconds(100), where: predicate) { return event }
            clock.advance(by: .seconds(1))
        }
        return try await events.first(timeout: .seconds(5), where: predicate)
    }

    /// Runs `workers` while `body` runs, then drains them.
    @discardableResult
    func running<T: Sendable>(_ workers: [Worker], _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            for worker in workers { group.addTask { try await worker.run(); return nil } }
            let result: T
            do {
                result = try await body()
            } catch {
                for worker in workers { worker.beginDrain() }
                group.cancelAll()
                throw error
            }
            for worker in workers { worker.beginDrain() }
            try await group.waitForAll()
            return result
        }
    }
}

extension WorkerEvent {
    func finished(_ id: JobID, attempt: Int? = nil) -> (AttemptOutcome, NextState, FenceResult)? {
        guard case let .attemptFinished(jobID, n, outcome, next, result) = self, jobID == id, attempt == nil || attempt == n else { return nil }
        return (outcome, next, result)
    }

    func started(_ id: JobID, attempt: Int) -> Bool {
        if case let .attemptStarted(jobID, n, _) = self { return jobID == id && n == attempt }
        return false
    }
}
