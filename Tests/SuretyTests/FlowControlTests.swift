import Foundation
import MetricsTestKit
import Surety
import SuretyTesting
import Testing

private struct AccountJob: Job {
    static let name = "test.account"
    static let options = JobOptions(queue: "ledger")
    var account: String
    var partitionKey: String? { account }
    func run(_ context: JobContext) async throws {}
}

private struct TenantJob: Job {
    static let name = "test.tenant-partitioned"
    static let options = JobOptions(queue: "reports", partitionByTenant: true)
    func run(_ context: JobContext) async throws {}
}

@Suite("Flow control in the core")
struct FlowControlCoreTests {
    let acme = try! TenantID("acme")

    @Test("the partition key comes from the call, else the job, else the tenant when the type says so; bad keys are refused")
    func partitionKeys() async throws {
        let store = MemoryStore()
        let queue = JobQueue(store: store)
        let fromJob = try await queue.enqueue(AccountJob(account: "acct-7"), tenant: acme)
        let fromCall = try await queue.enqueue(AccountJob(account: "acct-7"), tenant: acme, options: EnqueueOptions(partitionKey: "override"))
        let fromTenant = try await queue.enqueue(TenantJob(), tenant: acme)
        #expect(try await store.job(fromJob.id)?.partitionKey == "acct-7")
        #expect(try await store.job(fromCall.id)?.partitionKey == "override")
        #expect(try await store.job(fromTenant.id)?.partitionKey == "acme")
        for bad in ["", String(repeating: "k", count: 257)] {
            await #expect(throws: SuretyError.self) { try await queue.enqueue(AccountJob(account: bad), tenant: acme) }
        }
    }

    @Test("a full queue refuses with queue_full and the shed counter counts it; drop_new reports dropped jobs")
    func shedding() async throws {
        let store = MemoryStore()
        let metrics = TestMetrics()
        let queue = JobQueue(store: store, metrics: MetricsOptions(factory: metrics))
        try await store.setQueueLimits(try QueueLimits(queue: "ledger", maxBacklog: 1))
        try await queue.enqueue(AccountJob(account: "a"), tenant: acme)
        do {
            try await queue.enqueue(AccountJob(account: "b"), tenant: acme)
            Issue.record("the second job is refused")
        } catch let error as SuretyError {
            #expect(error.code == .queueFull)
            #expect(error.description.contains("queue 'ledger' is full"))
        }
        #expect(try metrics.expectCounter("surety_jobs_shed_total", [("queue", "ledger"), ("type", AccountJob.name), ("policy", "reject")]).totalValue == 1)
        try await store.setQueueLimits(try QueueLimits(queue: "ledger", maxBacklog: 2, overflow: .dropNew))
        let results = try await queue.enqueue([AccountJob(account: "c"), AccountJob(account: "d")], tenant: acme)
        #expect(results.map(\.dropped) == [false, true])
        #expect(try metrics.expectCounter("surety_jobs_shed_total", [("queue", "ledger"), ("type", AccountJob.name), ("policy", "drop_new")]).totalValue == 1)
    }

    @Test("Retry-After: delay-seconds, an HTTP date, garbage falls back; clamped to the bounds")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(Snooze(retryAfter: "120", now: now).duration == .seconds(120))
        #expect(Snooze(retryAfter: " 0 ", now: now).duration == .seconds(1), "0 snoozes the minimum")
        let soon = Snooze(retryAfter: "Fri, 15 Jan 2027 08:00:30 GMT", now: now)
        #expect(soon.duration == .seconds(30))
        #expect(Snooze(retryAfter: "soon", now: now).duration == .seconds(60))
        #expect(Snooze(retryAfter: nil, now: now, fallback: .seconds(5)).duration == .seconds(5))
        #expect(Snooze(retryAfter: "999999", now: now).duration == .seconds(3600), "capped at the maximum")
    }

    @Test("token buckets: integer refill, capped at the burst, saturating, no refill when the clock goes back")
    func buckets() {
        let rate = RateLimit(3, per: .seconds(1))
        var bucket = RateBucket.full(rate, now: 0)
        var taken: [Bool] = []
        for _ in 0..<4 { taken.append(bucket.take(rate)) }
        #expect(taken == [true, true, true, false])
        bucket.refill(rate, now: 333_334)
        let first = bucket.take(rate), second = bucket.take(rate)
        #expect(first && !second, "one token per third of a second")
        bucket.refill(rate, now: 100)
        let afterGoingBack = bucket.take(rate)
        #expect(!afterGoingBack, "a clock that went back adds nothing")
        bucket.refill(rate, now: 1_000_000_000_000)
        #expect(bucket.tokens == 3 * rate.periodMicros, "a long quiet spell fills the bucket to its burst only")
        let huge = RateLimit(1_000_000, per: .seconds(86_400), burst: 1_000_000)
        var big = RateBucket(tokens: 0, refilledAt: 0)
        big.refill(huge, now: .max / 2)
        let tookBig = big.take(huge)
        #expect(big.tokens > 0 && tookBig, "extreme values saturate instead of trapping")
    }
}
