import Foundation
import Surety

/// The flow-control groups (``FlowControlStore``): concurrency limits, ordered execution, rate
/// limits (with injected times), fairness, load shedding.
extension StoreConformance {
    /// How many jobs the flooding tenant enqueues in the fairness group.
    public static let floodSize = 100_000

    static func flowStore(_ store: any OperatedStore, _ check: Check) throws -> any FlowControlStore & OperatedStore {
        guard let flow = store as? any FlowControlStore & OperatedStore else {
            try check.fail("the store does not provide flow control (FlowControlStore)")
        }
        return flow
    }

    static func succeed(_ store: any OperatedStore, _ jobs: [ClaimedJob], at: Date) async throws {
        _ = try await store.finish(jobs.map { Fixtures.finish($0, at: at, outcome: .succeeded, next: .completed) })
    }

    func concurrencyLimits(_ store: any OperatedStore, _ check: Check) async throws {
        let flow = try Self.flowStore(store, check)
        let now = Fixtures.t0
        let initial = try await flow.queueLimits()
        try check.that(initial.isEmpty, "a fresh store has no limits")

        // Queue-wide: at most 3 running.
        try await flow.setQueueLimits(try QueueLimits(queue: "capped", concurrency: 3))
        _ = try await store.enqueue((0..<10).map { _ in Fixtures.job(queue: "capped") })
        let first = try await Fixtures.claim(store, limit: 10, queues: ["capped"])
        try check.that(first.count == 3, "a queue limited to 3 running jobs starts 3 of 10, got \(first.count)")
        let none = try await Fixtures.claim(store, at: now.addingTimeInterval(1), limit: 10, queues: ["capped"], worker: "w2")
        try check.that(none.isEmpty, "a second worker gets nothing while 3 run, got \(none.count)")
        try await Self.succeed(store, [first[0]], at: now.addingTimeInterval(2))
        let one = try await Fixtures.claim(store, at: now.addingTimeInterval(2), limit: 10, queues: ["capped"], worker: "w2")
        try check.that(one.count == 1, "a finished job frees one slot, got \(one.count)")

        // Per key: at most 2 running per partition key; jobs without a key are not limited per key.
        try await flow.setQueueLimits(try QueueLimits(queue: "keyed", concurrencyPerKey: 2))
        let keyed = try await store.enqueue(
            (0..<5).map { _ in Fixtures.job(queue: "keyed", partition: "acct-a") } + (0..<5).map { _ in Fixtures.job(queue: "keyed", partition: "acct-b") }
                + (0..<2).map { _ in Fixtures.job(queue: "keyed") }
        ).map(\.id)
        let record = try await store.job(keyed[0])
        try check.that(record?.partitionKey == "acct-a", "the partition key is stored with the job, got \(String(describing: record?.partitionKey))")
        let perKey = try await Fixtures.claim(store, limit: 100, queues: ["keyed"])
        let byKey = Dictionary(grouping: perKey) { job in keyed.firstIndex(of: job.id).map { $0 < 5 ? "a" : $0 < 10 ? "b" : "none" } ?? "?" }
        try check.that(byKey["a"]?.count == 2 && byKey["b"]?.count == 2 && byKey["none"]?.count == 2,
                       "2 per key start, and both unkeyed jobs: got a=\(byKey["a"]?.count ?? 0) b=\(byKey["b"]?.count ?? 0) none=\(byKey["none"]?.count ?? 0)")
        try check.that(perKey.filter { keyed.firstIndex(of: $0.id)! < 5 }.map(\.id) == [keyed[0], keyed[1]], "a key's jobs start oldest first")
        let blocked = try await Fixtures.claim(store, at: now.addingTimeInterval(1), limit: 100, queues: ["keyed"])
        try check.that(blocked.isEmpty, "every key is at its limit: nothing more starts, got \(blocked.count)")
        // A rescued (lost) attempt frees its slot like a finished one.
        guard let aJob = perKey.first(where: { $0.id == keyed[0] }) else { try check.fail("job a0 was claimed") }
        _ = try await store.finish([Fixtures.finish(aJob, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(100)), error: Fixtures.boom, onlyIfExpiredBy: now.addingTimeInterval(31))])
        let afterRescue = try await Fixtures.claim(store, at: now.addingTimeInterval(31), limit: 100, queues: ["keyed"])
        try check.that(afterRescue.map(\.id) == [keyed[2]], "a rescued attempt frees its key's slot for the next job, got \(afterRescue.map(\.id))")

        // Limits are listed, replaced and removed; without them the queue is claimed freely.
        let listed = try await flow.queueLimits()
        try check.that(listed.map(\.queue).sorted() == ["capped", "keyed"], "limits are listed by queue, got \(listed.map(\.queue))")
        try check.that(listed.first { $0.queue == "keyed" }?.concurrencyPerKey == 2, "limits read back as set")
        try await flow.setQueueLimits(try QueueLimits(queue: "capped", concurrency: 5))
        let raised = try await Fixtures.claim(store, at: now.addingTimeInterval(3), limit: 10, queues: ["capped"])
        try check.that(raised.count == 2, "raising the limit to 5 (3 running) starts 2 more, got \(raised.count)")
        let removed = try await flow.removeQueueLimits(queue: "capped")
        let removedAgain = try await flow.removeQueueLimits(queue: "capped")
        try check.that(removed && !removedAgain, "removing limits reports whether there were any")
        let free = try await Fixtures.claim(store, at: now.addingTimeInterval(4), limit: 10, queues: ["capped"])
        try check.that(free.count == 4, "without limits the rest of the queue starts, got \(free.count)")

        // Bad limits are refused with a clear error.
        do {
            var bad = try QueueLimits(queue: "capped")
            bad.concurrency = 0
            try await flow.setQueueLimits(bad)
            try check.fail("a concurrency of 0 is refused")
        } catch let error as SuretyError {
            try check.that(error.code == .invalidArgument, "a bad limit is invalid_argument, got \(error.code)")
        }
    }

    func orderedExecution(_ store: any OperatedStore, _ check: Check) async throws {
        let flow = try Self.flowStore(store, check)
        let now = Fixtures.t0
        try await flow.setQueueLimits(try QueueLimits(queue: "ledger", concurrencyPerKey: 1))
        // Enqueue order: a1 a2 b1 a3 b2; a3 is more urgent by priority, which does not reorder a key.
        let ids = try await store.enqueue([
            Fixtures.job(queue: "ledger", priority: 5, maxAttempts: 5, partition: "a"),
            Fixtures.job(queue: "ledger", priority: 5, partition: "a"),
            Fixtures.job(queue: "ledger", priority: 5, partition: "b"),
            Fixtures.job(queue: "ledger", priority: 0, partition: "a"),
            Fixtures.job(queue: "ledger", priority: 5, partition: "b"),
        ]).map(\.id)
        let (a1, a2, b1, a3, b2) = (ids[0], ids[1], ids[2], ids[3], ids[4])
        let first = try await Fixtures.claim(store, limit: 10, queues: ["ledger"])
        try check.that(Set(first.map(\.id)) == [a1, b1], "each key starts its oldest job only, got \(first.map(\.id))")
        // a1 fails and waits to retry: it still blocks a2 and a3.
        guard let a1Claim = first.first(where: { $0.id == a1 }), let b1Claim = first.first(where: { $0.id == b1 }) else { try check.fail("a1 and b1 started") }
        _ = try await store.finish([Fixtures.finish(a1Claim, at: now.addingTimeInterval(1), outcome: .failed, next: .retry(at: now.addingTimeInterval(60)), error: Fixtures.boom)])
        try await Self.succeed(store, [b1Claim], at: now.addingTimeInterval(1))
        let second = try await Fixtures.claim(store, at: now.addingTimeInterval(2), limit: 10, queues: ["ledger"])
        try check.that(second.map(\.id) == [b2], "a retrying job blocks the later jobs of its key; the other key goes on: got \(second.map(\.id))")
        let retry = try await Fixtures.claim(store, at: now.addingTimeInterval(60), limit: 10, queues: ["ledger"])
        try check.that(retry.map(\.id) == [a1] && retry.first?.attempt == 2, "the retry runs before the key's later jobs, got \(retry.map(\.id))")
        try await Self.succeed(store, retry, at: now.addingTimeInterval(61))
        let next = try await Fixtures.claim(store, at: now.addingTimeInterval(61), limit: 10, queues: ["ledger"])
        try check.that(next.map(\.id) == [a2], "then the key's next job in enqueue order (priority does not reorder a key), got \(next.map(\.id))")
        // A job that reaches the dead-letter inbox no longer blocks its key.
        _ = try await store.finish([Fixtures.finish(next[0], at: now.addingTimeInterval(62), outcome: .failed, next: .dead(.permanentError), error: Fixtures.boom)])
        let last = try await Fixtures.claim(store, at: now.addingTimeInterval(62), limit: 10, queues: ["ledger"])
        try check.that(last.map(\.id) == [a3], "after a dead job, the key's next job starts, got \(last.map(\.id))")
        // A job scheduled for later holds its place too.
        let later = try await store.enqueue([
            Fixtures.job(queue: "ledger", runAt: now.addingTimeInterval(600), partition: "c"),
            Fixtures.job(queue: "ledger", partition: "c"),
        ]).map(\.id)
        let waiting = try await Fixtures.claim(store, at: now.addingTimeInterval(63), limit: 10, queues: ["ledger"])
        try check.that(waiting.isEmpty, "a key's later job waits for its scheduled earlier job, got \(waiting.map(\.id))")
        let due = try await Fixtures.claim(store, at: now.addingTimeInterval(600), limit: 10, queues: ["ledger"])
        try check.that(due.map(\.id) == [later[0]], "the scheduled job starts first when due, got \(due.map(\.id))")
    }

    func rateLimits(_ store: any OperatedStore, _ check: Check) async throws {
        let flow = try Self.flowStore(store, check)
        let now = Fixtures.t0
        // Queue-wide: 10 per second, bursts of 10.
        try await flow.setQueueLimits(try QueueLimits(queue: "email", rate: RateLimit(10, per: .seconds(1))))
        _ = try await store.enqueue((0..<40).map { _ in Fixtures.job(queue: "email") })
        let counts = [
            try await Fixtures.claim(store, at: now, limit: 100, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now, limit: 100, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(0.5), limit: 100, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(0.5), limit: 100, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(0.7), limit: 1, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(60), limit: 100, queues: ["email"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(30), limit: 100, queues: ["email"]).count,
        ]
        try check.that(counts == [10, 0, 5, 0, 1, 10, 0],
                       "10/s: a full bucket of 10, then 5 after 0.5 s, 1 of 2 with a claim limit of 1, 10 (the burst) after a minute, none when the clock goes back; got \(counts)")

        // Per key: 2 per minute per key; jobs without a key are not limited per key.
        try await flow.setQueueLimits(try QueueLimits(queue: "tenants", ratePerKey: RateLimit(2, per: .seconds(60), burst: 2)))
        _ = try await store.enqueue((0..<5).map { _ in Fixtures.job(queue: "tenants", partition: "acme") } + (0..<5).map { _ in Fixtures.job(queue: "tenants", partition: "globex") } + [Fixtures.job(queue: "tenants")])
        let perKey = [
            try await Fixtures.claim(store, at: now, limit: 100, queues: ["tenants"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(29), limit: 100, queues: ["tenants"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(30), limit: 100, queues: ["tenants"]).count,
            try await Fixtures.claim(store, at: now.addingTimeInterval(90), limit: 100, queues: ["tenants"]).count,
        ]
        try check.that(perKey == [5, 0, 2, 4], "2/min per key: 2+2 and the unkeyed job, none before a token accrues, 1 per key after 30 s, 2 per key after another minute; got \(perKey)")

        // Both at once: the queue's bucket bounds the keys' together.
        try await flow.setQueueLimits(try QueueLimits(queue: "both", rate: RateLimit(3, per: .seconds(1)), ratePerKey: RateLimit(2, per: .seconds(1))))
        _ = try await store.enqueue((0..<4).map { _ in Fixtures.job(queue: "both", partition: "x") } + (0..<4).map { _ in Fixtures.job(queue: "both", partition: "y") })
        let both = try await Fixtures.claim(store, at: now, limit: 100, queues: ["both"])
        try check.that(both.count == 3, "a queue bucket of 3 bounds two keys of 2 each, got \(both.count)")
    }

    func fairness(_ store: any OperatedStore, _ check: Check) async throws {
        let flow = try Self.flowStore(store, check)
        let flood = Self.floodSize
        let big = try TenantID("big-tenant")
        let small = try TenantID("small-tenant")
        try await flow.setQueueLimits(try QueueLimits(queue: "fair", fair: true))
        // The big tenant floods the queue first (bulk, 10,000 per batch), then the small one enqueues 10.
        var enqueued = 0
        while enqueued < flood {
            let count = min(10_000, flood - enqueued)
            _ = try await store.enqueue((0..<count).map { _ in Fixtures.job(queue: "fair", tenant: big, runAt: Fixtures.t0.addingTimeInterval(-60), partition: big.rawValue) })
            enqueued += count
        }
        let smallIDs = Set(try await store.enqueue((0..<10).map { _ in Fixtures.job(queue: "fair", tenant: small, partition: small.rawValue) }).map(\.id))
        var claimsUntilSmallDone = 0
        var startedSmall = 0
        var startedBig = 0
        while startedSmall < 10 && claimsUntilSmallDone < 1000 {
            let batch = try await Fixtures.claim(store, limit: 4, queues: ["fair"])
            claimsUntilSmallDone += 1
            startedSmall += batch.filter { smallIDs.contains($0.id) }.count
            startedBig += batch.filter { !smallIDs.contains($0.id) }.count
        }
        try check.that(startedSmall == 10 && claimsUntilSmallDone <= 5 && startedBig <= 10,
                       "with \(flood) jobs of one tenant waiting, the other tenant's 10 jobs all start within 5 claims of 4 (round-robin); took \(claimsUntilSmallDone) claims, \(startedBig) big-tenant jobs started meanwhile")

        // Without fairness the same flood delays the small tenant (the test can fail): older jobs first.
        let older = try await store.enqueue((0..<100).map { _ in Fixtures.job(queue: "unfair", tenant: big, runAt: Fixtures.t0.addingTimeInterval(-60), partition: big.rawValue) })
        let newer = Set(try await store.enqueue((0..<3).map { _ in Fixtures.job(queue: "unfair", tenant: small, partition: small.rawValue) }).map(\.id))
        try await flow.setQueueLimits(try QueueLimits(queue: "unfair", concurrencyPerKey: 1000))
        let unfair = try await Fixtures.claim(store, limit: 50, queues: ["unfair"])
        try check.that(older.count == 100 && unfair.count == 50 && unfair.allSatisfy { !newer.contains($0.id) },
                       "without fairness, the 50 most urgent jobs are all the flooding tenant's")
    }

    func loadShedding(_ store: any OperatedStore, _ check: Check) async throws {
        let flow = try Self.flowStore(store, check)
        try await flow.setQueueLimits(try QueueLimits(queue: "bounded", maxBacklog: 5))
        let three = try await store.enqueue((0..<3).map { _ in Fixtures.job(queue: "bounded") })
        try check.that(three.allSatisfy(\.inserted), "jobs within the backlog are inserted")
        do {
            _ = try await store.enqueue((0..<3).map { _ in Fixtures.job(queue: "bounded") } + [Fixtures.job(queue: "elsewhere")])
            try check.fail("a batch past the maximum backlog is refused")
        } catch let error as SuretyError {
            try check.that(error.code == .queueFull, "a full queue throws queue_full, got \(error.code)")
            try check.that(error.message.contains("bounded"), "the error names the queue: \(error.message)")
        }
        let waiting = try await store.counts().filter { $0.queue == "bounded" || $0.queue == "elsewhere" }.reduce(0) { $0 + $1.count }
        try check.that(waiting == 3, "a refused batch inserts nothing (other queues' jobs in it included), got \(waiting)")
        let two = try await store.enqueue((0..<2).map { _ in Fixtures.job(queue: "bounded") })
        try check.that(two.allSatisfy(\.inserted), "the batch that fits exactly is inserted")
        // Running jobs do not count towards the backlog; scheduled ones do.
        let started = try await Fixtures.claim(store, limit: 1, queues: ["bounded"])
        try check.that(started.count == 1, "a bounded queue without claim limits claims normally")
        let refill = try await store.enqueue([Fixtures.job(queue: "bounded", runAt: Fixtures.t0.addingTimeInterval(3600))])
        try check.that(refill[0].inserted, "a started job leaves room for one more")
        do {
            _ = try await store.enqueue([Fixtures.job(queue: "bounded")])
            try check.fail("a scheduled job counts towards the backlog")
        } catch let error as SuretyError where error.code == .queueFull {}

        // drop_new: what fits is inserted, the rest is dropped and reported.
        try await flow.setQueueLimits(try QueueLimits(queue: "lossy", maxBacklog: 3, overflow: .dropNew))
        let results = try await store.enqueue((0..<5).map { _ in Fixtures.job(queue: "lossy") })
        try check.that(results.prefix(3).allSatisfy { $0.inserted && !$0.dropped } && results.suffix(2).allSatisfy { !$0.inserted && $0.dropped && $0.id == .none },
                       "drop_new inserts the first 3 and drops 2, got \(results.map { $0.dropped ? "dropped" : "\($0.id)" })")
        let lossy = try await store.counts().filter { $0.queue == "lossy" }.reduce(0) { $0 + $1.count }
        try check.that(lossy == 3, "dropped jobs are not stored, got \(lossy)")
    }
}
