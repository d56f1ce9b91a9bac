import Foundation
import Surety
import SuretyTesting
import Synchronization
import Testing

// Regression tests for items 11, 13, 14 and 16 of the reliability review
// (reviews/reliability-2026-12.md).

/// A job whose own code decodes a bad response: a provider's HTML 502 page read as JSON.
struct DecodesBadResponseJob: Job {
    static let name = "test.decodes-bad-response"
    static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(1)))
    func run(_ context: JobContext) async throws {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "<html>502 Bad Gateway</html> is not JSON"))
    }
}

/// A job type that says "no timeout" the natural way.
struct NoTimeoutJob: Job {
    static let name = "test.no-timeout"
    static let options = JobOptions(timeout: .seconds(Int64.max))
    func run(_ context: JobContext) async throws {
        try context.dependency(Counter.self).increment("no-timeout:\(context.id)")
    }
}

/// The same on the system clock, running long enough for the worker's timeout loop to sleep
/// until its deadline.
struct SlowNoTimeoutJob: Job {
    static let name = "test.slow-no-timeout"
    static let options = JobOptions(timeout: .seconds(Int64.max))
    func run(_ context: JobContext) async throws {
        try await context.clock.sleep(for: .milliseconds(300))
        try context.dependency(Counter.self).increment("no-timeout:\(context.id)")
    }
}

/// Records the keys `JobContext.idempotencyKey(_:)` hands out.
final class KeyRecorder: Sendable {
    private let keys = Mutex<[String]>([])
    func record(_ key: String) { keys.withLock { $0.append(key) } }
    var all: [String] { keys.withLock { $0 } }
}

struct IdempotencyKeyJob: Job {
    static let name = "test.idempotency-key"
    var operation: String
    func run(_ context: JobContext) async throws {
        try context.dependency(KeyRecorder.self).record(context.idempotencyKey(operation))
    }
}

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("HardeningCore: review items 11, 13, 14, 16")
struct HardeningCoreTests {
    let acme = try! TenantID("acme")

    // MARK: 11. DecodingError from job code

    @Test("11: the standard classifier treats a DecodingError as transient")
    func classifierDecodingErrorIsTransient() {
        let error = DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not JSON"))
        #expect(ErrorClassifier.standard.classify(error) == .transient)
        #expect(ErrorClassifier.standard.classify(PermanentFailure("no")) == .permanent)
    }

    @Test("11: a DecodingError thrown from run is retried, not dead-lettered")
    func decodingErrorFromRunRetries() async throws {
        let h = Harness(extraTypes: [DecodesBadResponseJob.self])
        let id = try await h.queue.enqueue(DecodesBadResponseJob(), tenant: acme).id
        let event = try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
        }
        let (outcome, next, _) = try #require(event.finished(id, attempt: 1))
        #expect(outcome == .failed)
        guard case .retry = next else {
            Issue.record("expected a retry, got \(next)")
            return
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .retrying)
        #expect(record.lastError?.errorClass == .transient)
    }

    @Test("11: a payload that does not decode is still dead with undecodable_payload")
    func undecodablePayloadStillDead() async throws {
        let h = Harness(extraTypes: [DecodesBadResponseJob.self])
        let id = try await h.store.enqueue([NewJob(
            type: FlakyJob.name, queue: "default", priority: 0, tenant: acme, payload: #"{"failures":"#,
            runAt: h.clock.now(), enqueuedAt: h.clock.now(), maxAttempts: 20
        )])[0].id
        try await h.running([h.worker()]) { try await h.events.first { $0.finished(id) != nil } }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .undecodablePayload && record.attempt == 1)
    }

    // MARK: 13. Idempotency keys

    @Test("13: the review's two colliding effect keys differ")
    func reviewedEffectKeysDiffer() throws {
        let first = EffectKey(tenant: try TenantID("a"), jobID: JobID(1), name: "charge", key: "2:charge:z")
        let second = EffectKey(tenant: try TenantID("a:1:charge"), jobID: JobID(2), name: "charge", key: "z")
        #expect(first.idempotencyKey != second.idempotencyKey)
    }

    @Test("13: keys without ':' or '%' are byte-identical to earlier releases")
    func plainEffectKeysUnchanged() throws {
        #expect(EffectKey(tenant: acme, jobID: JobID(42), name: "charge", key: "order-7").idempotencyKey == "surety:acme:42:charge:order-7")
        #expect(EffectKey(tenant: acme, jobID: JobID(42), name: "send", key: "").idempotencyKey == "surety:acme:42:send:")
        #expect(EffectKey(tenant: .system, jobID: JobID(7), name: "sync/éè", key: "a b").idempotencyKey == "surety:@system:7:sync/éè:a b")
    }

    @Test("13: generated components with ':' and '%' never collide")
    func effectKeysAreInjective() throws {
        var random = SplitMix64(state: 2026_12)
        let alphabet: [String] = [":", "%", "a", "1", "3A", "%3A", "25", "::"]
        func component(_ minimum: Int, _ random: inout SplitMix64) -> String {
            let length = Int.random(in: minimum...4, using: &random)
            return (0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined()
        }
        var seen: [String: EffectKey] = [:]
        var distinct = Set<EffectKey>()
        for _ in 0..<600 {
            let key = EffectKey(
                tenant: try TenantID(component(1, &random)),
                jobID: JobID(Int64.random(in: 1...3, using: &random)),
                name: component(0, &random), key: component(0, &random)
            )
            distinct.insert(key)
            if let earlier = seen[key.idempotencyKey] {
                #expect(earlier == key, "\(earlier) and \(key) share the idempotency key \(key.idempotencyKey)")
            }
            seen[key.idempotencyKey] = key
        }
        #expect(distinct.count > 300, "the generator produced enough distinct tuples")
        #expect(seen.count == distinct.count)
    }

    @Test("13: JobContext.idempotencyKey escapes ':' and '%' and keeps plain operations unchanged")
    func jobContextIdempotencyKey() async throws {
        let h = Harness(extraTypes: [IdempotencyKeyJob.self])
        let recorder = KeyRecorder()
        let tenant = try TenantID("a:b%")
        let plain = try await h.queue.enqueue(IdempotencyKeyJob(operation: "charge"), tenant: acme).id
        let special = try await h.queue.enqueue(IdempotencyKeyJob(operation: "5:charge"), tenant: tenant).id
        var dependencies = JobDependencies()
        dependencies.register(recorder)
        let worker = Worker(
            store: h.store, registry: h.registry,
            configuration: WorkerConfiguration(workerID: "w1", onEvent: h.events.record),
            dependencies: dependencies, clock: h.clock, logger: h.logs.logger()
        )
        try await h.running([worker]) {
            try await h.events.first { $0.finished(plain) != nil }
            try await h.events.first { $0.finished(special) != nil }
        }
        #expect(Set(recorder.all) == ["surety:acme:\(plain):charge", "surety:a%3Ab%25:\(special):5%3Acharge"])
    }

    // MARK: 14. Huge durations

    @Test("14: sleeping until the distant future is cancellable and does not trap")
    func sleepUntilDistantFutureCancels() async throws {
        let sleeper = Task { try await SystemClock().sleep(until: .distantFuture) }
        try await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test("14: Duration.interval saturates for huge, infinite and NaN values")
    func intervalSaturates() {
        let huge = Duration.interval(1e300)
        #expect(huge > .seconds(1_000_000_000))
        #expect(huge == .interval(1e20))
        #expect(huge == Duration.maximumInterval && huge == .seconds(3_155_760_000))
        #expect(Duration.interval(.infinity) == huge)
        #expect(Duration.interval(-.infinity) == .zero - huge)
        #expect(Duration.interval(.nan) == .zero)
        #expect(Duration.interval(1.5) == .milliseconds(1500), "ordinary values convert as before")
    }

    @Test("14: Date.adding a huge Duration stays finite")
    func dateAddingHugeDuration() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let later = start.adding(.seconds(Int64.max))
        #expect(later.timeIntervalSince1970.isFinite)
        #expect(later > start.addingTimeInterval(86_400 * 365 * 30))
        #expect(later == start.adding(.maximumInterval), "clamped to 100 years")
    }

    @Test("14: a job type with timeout .seconds(Int64.max) completes on a test clock")
    func hugeTimeoutOnTestClock() async throws {
        let h = Harness(extraTypes: [NoTimeoutJob.self])
        let id = try await h.queue.enqueue(NoTimeoutJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id) != nil }
        }
        #expect(try await h.store.job(id)?.state == .completed)
        #expect(h.counter.value("no-timeout:\(id)") == 1)
    }

    @Test("14: a job type with timeout .seconds(Int64.max) completes on the system clock")
    func hugeTimeoutOnSystemClock() async throws {
        let store = MemoryStore()
        let registry = JobRegistry([SlowNoTimeoutJob.self])
        let counter = Counter()
        let events = EventRecorder()
        var dependencies = JobDependencies()
        dependencies.register(counter)
        let id = try await JobQueue(store: store, registry: registry, clock: SystemClock()).enqueue(SlowNoTimeoutJob(), tenant: acme).id
        let worker = Worker(
            store: store, registry: registry,
            configuration: WorkerConfiguration(pollInterval: .milliseconds(20), workerID: "w1", onEvent: events.record),
            dependencies: dependencies, clock: SystemClock(), logger: LogCapture().logger()
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            try await events.first(timeout: .seconds(10)) { $0.finished(id) != nil }
            worker.beginDrain()
            try await group.waitForAll()
        }
        #expect(try await store.job(id)?.state == .completed)
        #expect(counter.value("no-timeout:\(id)") == 1)
    }

    @Test("14: RateLimit(parsing:) refuses an absurd period instead of trapping")
    func rateLimitParsingBounds() throws {
        for text in ["1/100000000000000000000000000s", "1/1000000000000d", "5/99999999999999999999h"] {
            let error = try #require(throws: SuretyError.self) { try RateLimit(parsing: text) }
            #expect(error.message.contains("period"), "\(error.message)")
        }
        #expect(try RateLimit(parsing: "3/500ms").period == .milliseconds(500))
        #expect(try RateLimit(parsing: "10/d").period == .seconds(86_400))
    }

    // MARK: 16. Correlation ids and identity fields

    @Test("16: correlation ids cannot overwrite the job logger's identity fields")
    func correlationCannotOverwriteIdentity() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(
            SucceedingJob(note: "x"), tenant: acme,
            options: EnqueueOptions(correlation: ["tenant": "globex", "job_id": "x", "worker": "evil", "order_id": "o-1"])
        ).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id) != nil }
        }
        let line = try #require(h.logs.entries.first { $0.message == "job attempt finished" })
        #expect(line.metadata["tenant"] == "acme", "\(line.line)")
        #expect(line.metadata["job_id"] == "\(id)", "\(line.line)")
        #expect(line.metadata["worker"] == "w1", "\(line.line)")
        #expect(line.metadata["correlation.tenant"] == "globex", "\(line.line)")
        #expect(line.metadata["correlation.job_id"] == "x", "\(line.line)")
        #expect(line.metadata["correlation.worker"] == "evil", "\(line.line)")
        #expect(line.metadata["order_id"] == "o-1", "a correlation key that collides with nothing keeps its own name")
    }
}
