import Foundation

/// The decisions of a claim from a queue with limits, as pure functions over what the store read
/// in the claim's transaction. The memory, SQLite and PostgreSQL stores all use it, so they
/// decide alike; docs/flow-control.md describes the algorithm and docs/schema.md the queries.
///
/// A store claims from a limited queue in one transaction (serialised per queue on PostgreSQL):
/// 1. it counts the queue's running jobs (and per key, when a per-key limit is set) and computes
///    ``allowance(_:limit:running:)``;
/// 2. with only queue-wide limits (``needsKeys(_:)`` is `false`) it takes the most urgent due
///    jobs, at most the allowance and the tokens of the queue's bucket (``queueTokens(_:bucket:now:)``);
/// 3. otherwise it reads a window of partition keys (``keyWindow(limit:)`` keys after the
///    queue's cursor, wrapping around), each key's first jobs, the most urgent due jobs without a
///    key, and the rate buckets, and asks ``plan(_:)`` which to claim.
package enum FlowClaimPlanner {
    /// The bucket name of a queue-wide rate limit (partition keys are never empty).
    package static let queueBucket = ""

    /// A waiting job as the planner sees it.
    package struct Candidate: Sendable, Hashable {
        package var id: JobID
        package var priority: Int
        package var runAt: Date
        package init(id: JobID, priority: Int, runAt: Date) {
            self.id = id
            self.priority = priority
            self.runAt = runAt
        }
    }

    /// One partition key's first waiting jobs, by id (enqueue order). For an ordered queue
    /// (``QueueLimits/isOrdered``): only the key's oldest waiting job, due or not. Otherwise: its
    /// oldest due jobs, at most ``perKeyFetch(_:limit:keys:)``.
    package struct KeyGroup: Sendable, Hashable {
        package var key: String
        package var jobs: [Candidate]
        package init(key: String, jobs: [Candidate]) {
            self.key = key
            self.jobs = jobs
        }
    }

    package struct Input: Sendable {
        package var limits: QueueLimits
        /// The claim's limit for this queue.
        package var limit: Int
        package var now: Date
        package var runningTotal: Int
        /// Running jobs per partition key (only keys with running jobs need be present).
        package var runningPerKey: [String: Int]
        /// The key window, in rotation order (after the cursor, then wrapped).
        package var keyed: [KeyGroup]
        /// Whether the window holds every key that has waiting jobs.
        package var windowComplete: Bool
        /// Due jobs without a partition key, most urgent first, at most `limit`.
        package var unkeyed: [Candidate]
        /// The stored buckets by name (``queueBucket`` or a key); missing ones are full.
        package var buckets: [String: RateBucket]

        package init(
            limits: QueueLimits, limit: Int, now: Date, runningTotal: Int, runningPerKey: [String: Int],
            keyed: [KeyGroup], windowComplete: Bool, unkeyed: [Candidate], buckets: [String: RateBucket]
        ) {
            self.limits = limits
            self.limit = limit
            self.now = now
            self.runningTotal = runningTotal
            self.runningPerKey = runningPerKey
            self.keyed = keyed
            self.windowComplete = windowComplete
            self.unkeyed = unkeyed
            self.buckets = buckets
        }
    }

    package struct Plan: Sendable, Hashable {
        /// The jobs to claim, in the order they were chosen.
        package var ids: [JobID]
        /// Buckets to write back (those that were refilled or taken from).
        package var buckets: [String: RateBucket]
        /// The queue's new key cursor: the rotation continues after this key (`nil`: from the start).
        package var cursor: String?
    }

    /// How many partition keys a claim reads at most: enough for a round in which some keys are
    /// blocked by their limits, bounded so a queue with many keys costs a bounded claim.
    package static func keyWindow(limit: Int) -> Int { min(1000, max(64, limit * 4)) }

    /// How many due jobs of one key a claim reads (unordered queues), with `keys` keys in the
    /// window: twice a fair share of the claim's limit, at most the per-key limit, so a claim
    /// reads about `2 × limit` rows however many keys there are. (When a few keys hold most of the
    /// due jobs, a claim may return fewer than its limit; the next one continues.)
    package static func perKeyFetch(_ limits: QueueLimits, limit: Int, keys: Int) -> Int {
        let share = (2 * max(1, limit) + max(1, keys) - 1) / max(1, keys)
        return max(1, min(share, limit, limits.concurrencyPerKey ?? limit))
    }

    /// Whether the claim must look at partition keys (per-key limits or fairness).
    package static func needsKeys(_ limits: QueueLimits) -> Bool {
        limits.concurrencyPerKey != nil || limits.ratePerKey != nil || limits.fair
    }

    /// The most jobs the claim may start: its limit, less what the queue-wide concurrency leaves.
    package static func allowance(_ limits: QueueLimits, limit: Int, running: Int) -> Int {
        var allowance = max(0, limit)
        if let concurrency = limits.concurrency { allowance = min(allowance, max(0, concurrency - running)) }
        return allowance
    }

    /// The queue bucket brought up to `now`, and how many whole tokens it holds (`Int.max`
    /// without a queue-wide rate).
    package static func queueTokens(_ limits: QueueLimits, bucket: RateBucket?, now: Date) -> (bucket: RateBucket?, tokens: Int) {
        guard let rate = limits.rate else { return (nil, .max) }
        let micros = micros(now)
        var bucket = bucket ?? .full(rate, now: micros)
        bucket.refill(rate, now: micros)
        return (bucket, Int(bucket.tokens / rate.periodMicros))
    }

    /// Takes `count` tokens from a refilled queue bucket (after a queue-wide-only claim).
    package static func consume(_ count: Int, from bucket: RateBucket, _ limits: QueueLimits) -> RateBucket {
        guard let rate = limits.rate else { return bucket }
        var bucket = bucket
        bucket.tokens -= Int64(count) * rate.periodMicros
        return bucket
    }

    /// Chooses the jobs of a claim that looks at partition keys.
    package static func plan(_ input: Input) -> Plan {
        let limits = input.limits
        let nowMicros = micros(input.now)
        var allowance = allowance(limits, limit: input.limit, running: input.runningTotal)
        var buckets: [String: RateBucket] = [:]
        var ids: [JobID] = []

        // Each group's claimable jobs, before rate limits.
        var groups: [(key: String?, jobs: [Candidate])] = []
        for group in input.keyed {
            let running = input.runningPerKey[group.key] ?? 0
            let room = limits.concurrencyPerKey.map { max(0, $0 - running) } ?? Int.max
            guard room > 0 else { continue }
            if limits.isOrdered {
                if let head = group.jobs.first, head.runAt <= input.now { groups.append((group.key, [head])) }
            } else {
                let due = group.jobs.filter { $0.runAt <= input.now }
                if !due.isEmpty { groups.append((group.key, Array(due.prefix(room)))) }
            }
        }
        if !input.unkeyed.isEmpty { groups.append((nil, input.unkeyed)) }

        // The order to consider them in.
        var sequence: [(key: String?, job: Candidate)] = []
        if limits.fair {
            var round = 0
            var more = true
            while more {
                more = false
                for group in groups where round < group.jobs.count {
                    sequence.append((group.key, group.jobs[round]))
                    more = true
                }
                round += 1
            }
        } else {
            for group in groups { for job in group.jobs { sequence.append((group.key, job)) } }
            sequence.sort { ($0.job.priority, $0.job.runAt, $0.job.id) < ($1.job.priority, $1.job.runAt, $1.job.id) }
        }

        var queueBucket: RateBucket?
        if let rate = limits.rate {
            var bucket = input.buckets[Self.queueBucket] ?? .full(rate, now: nowMicros)
            bucket.refill(rate, now: nowMicros)
            queueBucket = bucket
        }
        var lastKey: String?
        for (key, job) in sequence where allowance > 0 {
            // The queue's bucket first: when it is empty, nothing else can start.
            if let rate = limits.rate, let queue = queueBucket, queue.tokens < rate.periodMicros { break }
            if let key, let keyRate = limits.ratePerKey {
                var bucket = buckets[key] ?? {
                    var stored = input.buckets[key] ?? .full(keyRate, now: nowMicros)
                    stored.refill(keyRate, now: nowMicros)
                    return stored
                }()
                let took = bucket.take(keyRate)
                buckets[key] = bucket
                guard took else { continue }
            }
            if let rate = limits.rate, var queue = queueBucket {
                _ = queue.take(rate)
                queueBucket = queue
            }
            ids.append(job.id)
            allowance -= 1
            if let key { lastKey = key }
        }
        if let queueBucket { buckets[Self.queueBucket] = queueBucket }

        let cursor: String?
        if limits.fair, let lastKey {
            cursor = lastKey
        } else if input.windowComplete {
            cursor = nil
        } else {
            cursor = input.keyed.last?.key
        }
        return Plan(ids: ids, buckets: buckets, cursor: cursor)
    }

    /// Microseconds since 1970, computed as the stores' timestamps are (through the 2001
    /// reference date, in integers).
    package static func micros(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        guard value.isFinite else { return value < 0 ? -4_000_000_000_000_000_000 : 4_000_000_000_000_000_000 }
        return Int64(min(max(value, -4.0e18), 4.0e18)) + 978_307_200_000_000
    }
}
