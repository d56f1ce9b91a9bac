import Foundation
import Surety
import SuretyTesting
import Testing

/// A type with options of its own, so a test can tell the type's values from the defaults.
struct TypedReceipt: Job {
    static let name = "test.typed-receipt"
    static let options = JobOptions(queue: "email", priority: 3, maxAttempts: 5, uniqueScope: .forever)
    var orderID: String
    var uniqueKey: String? { "receipt:\(orderID)" }
    var partitionKey: String? { "order:\(orderID)" }
    func run(_ context: JobContext) async throws {}
}

/// A type that takes its tenant as partition key and has no keys of its own.
struct TenantPartitioned: Job {
    static let name = "test.tenant-partitioned"
    static let options = JobOptions(partitionByTenant: true)
    var note: String
    func run(_ context: JobContext) async throws {}
}

@Suite("JobQueue.newJob: the rules of typed enqueue, without inserting")
struct TypedNewJobTests {
    let acme = try! TenantID("acme")

    @Test("the type's queue, priority, attempts and unique scope, the job's own keys, the queue's clock")
    func typeDefaults() throws {
        let clock = TestClock()
        let queue = JobQueue(store: MemoryStore(), clock: clock)
        let new = try queue.newJob(TypedReceipt(orderID: "o-1"), tenant: acme)
        #expect(new.type == "test.typed-receipt" && new.tenant == acme)
        #expect(new.queue == "email" && new.priority == 3 && new.maxAttempts == 5 && new.uniqueScope == .forever)
        #expect(new.uniqueKey == "receipt:o-1" && new.partitionKey == "order:o-1")
        #expect(new.payload == #"{"orderID":"o-1"}"#)
        #expect(new.enqueuedAt == clock.now() && new.runAt == clock.now() && new.initialState == .available)
        #expect(new.tags.isEmpty && new.correlation.isEmpty)

        let plain = try queue.newJob(TenantPartitioned(note: "n"), tenant: acme)
        #expect(plain.queue == "default" && plain.priority == 0 && plain.maxAttempts == 20 && plain.uniqueScope == .whileActive)
        #expect(plain.uniqueKey == nil && plain.partitionKey == "acme", "partitionByTenant gives the tenant as key")
    }

    @Test("per-call options override the type and the job: queue, priority, attempts, keys, scope, time, labels")
    func perCallOverrides() throws {
        let clock = TestClock()
        let queue = JobQueue(store: MemoryStore(), clock: clock)
        let options = EnqueueOptions(
            delay: .seconds(90), uniqueKey: "call-key", queue: "bulk", priority: 7, maxAttempts: 2,
            tags: ["import"], correlation: ["request_id": "r-1"], partitionKey: "p-1", uniqueScope: .whileActive
        )
        let new = try queue.newJob(TypedReceipt(orderID: "o-1"), tenant: acme, options: options)
        #expect(new.queue == "bulk" && new.priority == 7 && new.maxAttempts == 2)
        #expect(new.uniqueKey == "call-key" && new.uniqueScope == .whileActive && new.partitionKey == "p-1")
        #expect(new.tags == ["import"] && new.correlation == ["request_id": "r-1"])
        #expect(new.runAt == clock.now().addingTimeInterval(90) && new.initialState == .scheduled)

        let at = clock.now().addingTimeInterval(3600)
        let scheduled = try queue.newJob(TypedReceipt(orderID: "o-2"), tenant: acme, options: EnqueueOptions(runAt: at, delay: .seconds(5)))
        #expect(scheduled.runAt == at, "runAt wins over delay")

        let scopeOnly = try queue.newJob(TenantPartitioned(note: "n"), tenant: acme, options: EnqueueOptions(uniqueKey: "k", uniqueScope: .forever))
        #expect(scopeOnly.uniqueKey == "k" && scopeOnly.uniqueScope == .forever)
    }

    @Test("invalid values are refused with enqueue's errors, before anything is written")
    func validation() async throws {
        let store = MemoryStore()
        let queue = JobQueue(store: store, clock: TestClock())
        let invalid: [EnqueueOptions] = [
            EnqueueOptions(queue: ""), EnqueueOptions(queue: String(repeating: "q", count: 129)), EnqueueOptions(priority: 10),
            EnqueueOptions(priority: -1), EnqueueOptions(maxAttempts: 0), EnqueueOptions(delay: .seconds(-1)),
            EnqueueOptions(uniqueKey: ""), EnqueueOptions(uniqueKey: String(repeating: "k", count: 513)),
            EnqueueOptions(queue: "a\u{0}b"), EnqueueOptions(uniqueKey: "k\u{0}"), EnqueueOptions(tags: ["t\u{0}"]),
            EnqueueOptions(correlation: ["k": "v\u{0}"]), EnqueueOptions(partitionKey: ""),
        ]
        for options in invalid {
            let built = #expect(throws: SuretyError.self) { try queue.newJob(TenantPartitioned(note: "n"), tenant: acme, options: options) }
            let enqueued = await #expect(throws: SuretyError.self) { try await queue.enqueue(TenantPartitioned(note: "n"), tenant: acme, options: options) }
            #expect(built?.code == .invalidArgument && built?.message == enqueued?.message, "newJob and enqueue refuse alike: \(String(describing: built))")
        }
        #expect(try await store.jobs(JobFilter()).isEmpty)
    }

    @Test("newJob builds exactly the row enqueue inserts, for every kind of option")
    func sameAsEnqueue() async throws {
        let store = MemoryStore()
        let queue = JobQueue(store: store, clock: TestClock())
        let cases: [EnqueueOptions] = [
            EnqueueOptions(),
            EnqueueOptions(delay: .seconds(30), queue: "slow", priority: 9, maxAttempts: 1, tags: ["a", "b"], correlation: ["user_id": "u1"]),
            EnqueueOptions(uniqueKey: "per-call", partitionKey: "p", uniqueScope: .whileActive),
        ]
        for (index, options) in cases.enumerated() {
            let job = TypedReceipt(orderID: "o-\(index)")
            let new = try queue.newJob(job, tenant: acme, options: options)
            let id = try await queue.enqueue(job, tenant: acme, options: options).id
            let stored = try #require(try await store.job(id))
            #expect(stored.type == new.type && stored.queue == new.queue && stored.priority == new.priority && stored.tenant == new.tenant)
            #expect(stored.payload == new.payload && stored.runAt == new.runAt && stored.enqueuedAt == new.enqueuedAt)
            #expect(stored.maxAttempts == new.maxAttempts && stored.uniqueKey == new.uniqueKey && stored.uniqueScope == new.uniqueScope)
            #expect(stored.tags == new.tags && stored.correlation == new.correlation && stored.partitionKey == new.partitionKey)
            #expect(stored.state == new.initialState)
        }
    }

    @Test("a per-call unique key and scope are honoured by typed enqueue: forever keeps the key after completion")
    func perCallUniqueScope() async throws {
        let store = MemoryStore()
        let clock = TestClock()
        let queue = JobQueue(store: store, clock: clock)
        // TenantPartitioned's own scope is whileActive; the call asks for forever.
        let forever = EnqueueOptions(uniqueKey: "import:2027-01", uniqueScope: .forever)
        let first = try await queue.enqueue(TenantPartitioned(note: "a"), tenant: acme, options: forever)
        #expect(try await store.job(first.id)?.uniqueScope == .forever)
        try await complete(first.id, store: store, clock: clock, queue: "default")
        let again = try await queue.enqueue(TenantPartitioned(note: "b"), tenant: acme, options: forever)
        #expect(!again.inserted && again.id == first.id, "a forever key stays held by the completed job")

        // Without the per-call scope the type's whileActive applies: the key is free once completed.
        let active = EnqueueOptions(uniqueKey: "import:2027-02")
        let second = try await queue.enqueue(TenantPartitioned(note: "c"), tenant: acme, options: active)
        #expect(try await store.job(second.id)?.uniqueScope == .whileActive)
        try await complete(second.id, store: store, clock: clock, queue: "default")
        #expect(try await queue.enqueue(TenantPartitioned(note: "d"), tenant: acme, options: active).inserted)

        // And the other way round: a forever type whose call asks for whileActive.
        let receipt = EnqueueOptions(uniqueScope: .whileActive)
        let third = try await queue.enqueue(TypedReceipt(orderID: "o-9"), tenant: acme, options: receipt)
        #expect(try await store.job(third.id)?.uniqueScope == .whileActive)
        try await complete(third.id, store: store, clock: clock, queue: "email")
        #expect(try await queue.enqueue(TypedReceipt(orderID: "o-9"), tenant: acme, options: receipt).inserted)
    }

    /// Claims and completes job `id`.
    private func complete(_ id: JobID, store: MemoryStore, clock: TestClock, queue: String) async throws {
        let now = clock.now()
        let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 1, worker: "w", now: now, leaseUntil: now.addingTimeInterval(30)))
        let job = try #require(claimed.first)
        #expect(job.id == id)
        let fence = try await store.finish([AttemptFinish(lease: job.lease, attempt: job.attempt, worker: "w", startedAt: now, endedAt: now, outcome: .succeeded, next: .completed)])
        #expect(fence == [.applied])
    }
}
