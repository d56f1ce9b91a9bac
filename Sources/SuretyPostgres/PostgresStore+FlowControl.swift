import Foundation
import Logging
import PostgresNIO
import Surety

/// Flow control (``Surety/FlowControlStore``) on PostgreSQL: limits in `surety_queue_limits`,
/// token buckets in `surety_rate_buckets`. A claim from a queue with claim limits, and an enqueue
/// into a queue with a maximum backlog, run in one transaction that first takes the queue's
/// transaction-scoped advisory lock, so nodes decide one after the other on what the previous
/// one committed: two nodes never exceed a limit together. docs/schema.md describes the queries.
extension PostgresStore: FlowControlStore {
    /// The first key of the two-key advisory locks of flow control ("su"); the second is a hash
    /// of the schema and the queue. (The single-key lock space, used for migrations and
    /// maintenance, does not overlap the two-key one.)
    static let flowLockClass: Int32 = 0x7375

    public func queueLimits() async throws -> [QueueLimits] {
        try await query("queueLimits", """
            SELECT queue, concurrency, concurrency_per_key, rate_count, rate_period_us, rate_burst,
                   key_rate_count, key_rate_period_us, key_rate_burst, fair, max_backlog, overflow
            FROM surety_queue_limits ORDER BY queue
            """) { rows in
            try await rows.collect { row in
                try QueueLimits.fromStore(
                    queue: try row[0].decode(String.self), concurrency: try row[1].decode(Int?.self),
                    concurrencyPerKey: try row[2].decode(Int?.self), rateCount: try row[3].decode(Int?.self),
                    ratePeriodMicros: try row[4].decode(Int64?.self), rateBurst: try row[5].decode(Int?.self),
                    keyRateCount: try row[6].decode(Int?.self), keyRatePeriodMicros: try row[7].decode(Int64?.self),
                    keyRateBurst: try row[8].decode(Int?.self), fair: try row[9].decode(Bool.self),
                    maxBacklog: try row[10].decode(Int?.self), overflow: try row[11].decode(String.self)
                )
            }
        }
    }

    public func setQueueLimits(_ limits: QueueLimits) async throws {
        try limits.validate()
        try await transaction("setQueueLimits") { [self] connection in
            try await connection.queryIfOpen("""
                INSERT INTO surety_queue_limits
                    (queue, concurrency, concurrency_per_key, rate_count, rate_period_us, rate_burst,
                     key_rate_count, key_rate_period_us, key_rate_burst, fair, max_backlog, overflow, key_cursor)
                VALUES (\(limits.queue), \(limits.concurrency), \(limits.concurrencyPerKey),
                        \(limits.rate?.count), \(limits.rate?.periodMicros), \(limits.rate?.burst),
                        \(limits.ratePerKey?.count), \(limits.ratePerKey?.periodMicros), \(limits.ratePerKey?.burst),
                        \(limits.fair), \(limits.maxBacklog), \(limits.overflow.rawValue), NULL)
                ON CONFLICT (queue) DO UPDATE SET
                    concurrency = excluded.concurrency, concurrency_per_key = excluded.concurrency_per_key,
                    rate_count = excluded.rate_count, rate_period_us = excluded.rate_period_us, rate_burst = excluded.rate_burst,
                    key_rate_count = excluded.key_rate_count, key_rate_period_us = excluded.key_rate_period_us,
                    key_rate_burst = excluded.key_rate_burst, fair = excluded.fair, max_backlog = excluded.max_backlog,
                    overflow = excluded.overflow, key_cursor = NULL
                """, logger: logger)
            // New limits start with full buckets.
            try await connection.queryIfOpen("DELETE FROM surety_rate_buckets WHERE queue = \(limits.queue)", logger: logger)
        }
        limitsCache.invalidate()
    }

    @discardableResult
    public func removeQueueLimits(queue: String) async throws -> Bool {
        let removed = try await transaction("removeQueueLimits") { [self] connection -> Bool in
            let rows = try await connection.queryIfOpen("DELETE FROM surety_queue_limits WHERE queue = \(queue) RETURNING queue", logger: logger)
                .collect { try $0[0].decode(String.self) }
            try await connection.queryIfOpen("DELETE FROM surety_rate_buckets WHERE queue = \(queue)", logger: logger)
            return !rows.isEmpty
        }
        limitsCache.invalidate()
        return removed
    }

    /// The limits by queue, from the cache or (once per refresh interval) from the database.
    func currentLimits(now: Date) async throws -> [String: QueueLimits] {
        if let cached = limitsCache.current(now: now) { return cached }
        return limitsCache.store(try await queueLimits(), at: now)
    }

    func lockQueue(_ queue: String, _ connection: PostgresConnection) async throws {
        let name = "\(configuration.schema)/\(queue)"
        try await connection.queryIfOpen("SELECT pg_advisory_xact_lock(\(Self.flowLockClass), hashtext(\(name)))", logger: logger)
    }

    // MARK: Enqueue

    /// Enqueue when a queue in the batch has a maximum backlog: under the queue's lock, count its
    /// backlog (at most max_backlog rows), then insert what ``LoadShedding`` admits. `nil` when
    /// no queue of the batch has a maximum backlog.
    func enqueueShedding(_ jobs: [NewJob]) async throws -> [EnqueuedJob]? {
        let bounded = LoadShedding.bounded(jobs, limits: try await currentLimits(now: jobs[0].enqueuedAt))
        guard !bounded.isEmpty else { return nil }
        var attempt = 0
        while true {
            attempt += 1
            do {
                // A full queue is reported as a value: the transaction wrapper would turn a thrown
                // error into storeUnavailable. Nothing was inserted when it is.
                let outcome = try await transaction("enqueue") { [self] connection -> Result<[EnqueuedJob], SuretyError> in
                    try await shedAndInsert(jobs, bounded: bounded, connection)
                }
                let results = try outcome.get()
                if results.contains(where: \.inserted) { signal() }
                return results
            } catch is PostgresErrors.Retry where attempt < 5 {
                continue
            } catch is PostgresErrors.Retry {
                throw SuretyError(.storeUnavailable, "enqueue: a unique key's holder kept changing while the key was looked up; retry")
            }
        }
    }

    /// Counts the bounded queues' backlogs under their advisory locks, admits or refuses the jobs
    /// by the queues' policies, and inserts the admitted ones, inside the caller's transaction.
    /// A full queue is a `.failure` value, nothing inserted.
    func shedAndInsert(_ jobs: [NewJob], bounded: [String: QueueLimits], _ connection: PostgresConnection) async throws -> Result<[EnqueuedJob], SuretyError> {
        var backlogs: [String: Int] = [:]
        for (queue, limits) in bounded.sorted(by: { $0.key < $1.key }) {
            try await lockQueue(queue, connection)
            let counted = try await connection.queryIfOpen("""
                SELECT count(*) FROM (
                    SELECT 1 FROM surety_jobs
                    WHERE \(unescaped: WaitingStates.condition) AND queue = \(queue)
                    LIMIT \(limits.maxBacklog ?? 0)) AS waiting
                """, logger: logger).collect { try $0[0].decode(Int.self) }
            backlogs[queue] = counted.first ?? 0
        }
        let admitted: [Bool]
        do {
            admitted = try LoadShedding.admit(jobs, bounded: bounded, backlogs: backlogs)
        } catch let error as SuretyError {
            return .failure(error)
        }
        let kept = zip(jobs, admitted).filter(\.1).map(\.0)
        let inserted = kept.isEmpty ? [] : try await Self.insert(kept, EnqueueRows(kept), connection, notify: notifyQuery, logger: logger)
        return .success(LoadShedding.merge(admitted, inserted: inserted))
    }

    // MARK: Claim

    /// A claim that involves at least one queue with claim limits, in one transaction: the
    /// limited queues' advisory locks are taken first, in name order (two claimers of
    /// overlapping queue lists cannot deadlock), then the limited queues are claimed in the
    /// request's order, then the others by the fast statement with what is left of the limit.
    /// One transaction, so a step that fails undoes the whole claim: no job is left `running`
    /// under a lease nobody holds (review item 8), and the explicit COMMIT is confirmed before
    /// any job runs.
    func claimWithLimits(queues: [String], limits: [String: QueueLimits], request: ClaimRequest) async throws -> [ClaimedJob] {
        let limited = queues.filter { limits[$0]?.limitsClaims == true }
        let free = queues.filter { limits[$0]?.limitsClaims != true }
        let claimed = try await transaction("claim") { [self] connection -> [ClaimedJob] in
            for queue in limited.sorted() { try await lockQueue(queue, connection) }
            var claimed: [ClaimedJob] = []
            for queue in limited where claimed.count < request.limit {
                guard let queueLimits = limits[queue] else { continue }
                claimed += try await claimLimited(connection, queue: queue, limits: queueLimits, limit: request.limit - claimed.count, request: request)
                try faults.reach(.claimBetweenQueues)
            }
            if !free.isEmpty, claimed.count < request.limit {
                let query = Self.claimQuery(queues: free, limit: request.limit - claimed.count, request: request, leaseTimes: leaseTimes)
                claimed += try await connection.queryIfOpen(query, logger: logger).collect { row in
                    var json = JSONColumns.DecodingCache()
                    return try JobTransitionSQL.decodeClaimed(row, json: &json)
                }
            }
            return claimed
        }
        return claimed.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    private func claimLimited(_ connection: PostgresConnection, queue: String, limits: QueueLimits, limit: Int, request: ClaimRequest) async throws -> [ClaimedJob] {
        let now = request.now
        let nowMicros = Timestamp.micros(now)
        let runningTotal = try await connection.queryIfOpen(
            "SELECT count(*) FROM surety_jobs WHERE state = 'running' AND queue = \(queue)", logger: logger
        ).collect { try $0[0].decode(Int.self) }.first ?? 0
        let allowance = FlowClaimPlanner.allowance(limits, limit: limit, running: runningTotal)
        guard allowance > 0 else { return [] }

        var claimed: [ClaimedJob] = []
        var changedBuckets: [String: RateBucket] = [:]
        if !FlowClaimPlanner.needsKeys(limits) {
            // Queue-wide limits only: the fast statement, cut to the allowance and the tokens.
            let stored = limits.rate == nil ? [:] : try await buckets(connection, queue: queue, names: [FlowClaimPlanner.queueBucket])
            let (bucket, tokens) = FlowClaimPlanner.queueTokens(limits, bucket: stored[FlowClaimPlanner.queueBucket], now: now)
            let take = min(allowance, tokens)
            if take > 0 {
                claimed = try await connection.queryIfOpen(Self.claimQuery(queues: [queue], limit: take, request: request, leaseTimes: leaseTimes), logger: logger).collect { row in
                    var json = JSONColumns.DecodingCache()
                    return try JobTransitionSQL.decodeClaimed(row, json: &json)
                }
            }
            if let bucket { changedBuckets[FlowClaimPlanner.queueBucket] = FlowClaimPlanner.consume(claimed.count, from: bucket, limits) }
        } else {
            var runningPerKey: [String: Int] = [:]
            if limits.concurrencyPerKey != nil {
                let rows = try await connection.queryIfOpen("""
                    SELECT partition_key, count(*) FROM surety_jobs
                    WHERE state = 'running' AND partition_key IS NOT NULL AND queue = \(queue) GROUP BY partition_key
                    """, logger: logger).collect { (try $0[0].decode(String.self), try $0[1].decode(Int.self)) }
                for (key, count) in rows { runningPerKey[key] = count }
            }
            let cursor = try await connection.queryIfOpen("SELECT key_cursor FROM surety_queue_limits WHERE queue = \(queue)", logger: logger)
                .collect { try $0[0].decode(String?.self) }.first ?? nil
            let window = FlowClaimPlanner.keyWindow(limit: limit)
            var keys = try await self.keys(connection, queue: queue, after: cursor ?? "", limit: window)
            var complete = keys.count < window && cursor == nil
            if keys.count < window, let cursor {
                let wrapped = try await self.keys(connection, queue: queue, after: "", limit: window - keys.count).filter { $0 <= cursor }
                complete = keys.count + wrapped.count < window
                keys += wrapped
            }
            let fetch = FlowClaimPlanner.perKeyFetch(limits, limit: limit, keys: keys.count)
            let dueOnly = !limits.isOrdered
            let perKey = limits.isOrdered ? 1 : fetch
            let rows = try await connection.queryIfOpen("""
                SELECT k.key, j.id, j.priority, j.run_at FROM unnest(\(keys)::text[]) WITH ORDINALITY AS k(key, ord)
                CROSS JOIN LATERAL (
                    SELECT id, priority, run_at FROM surety_jobs
                    WHERE \(unescaped: WaitingStates.condition) AND partition_key IS NOT NULL
                      AND queue = \(queue) AND partition_key = k.key AND (NOT \(dueOnly) OR run_at <= \(nowMicros))
                    ORDER BY id LIMIT \(perKey)) AS j
                ORDER BY k.ord, j.id
                """, logger: logger).collect { row in
                    (try row[0].decode(String.self), FlowClaimPlanner.Candidate(id: JobID(try row[1].decode(Int64.self)), priority: try row[2].decode(Int.self), runAt: Timestamp.date(try row[3].decode(Int64.self))))
                }
            var jobsByKey: [String: [FlowClaimPlanner.Candidate]] = [:]
            for (key, candidate) in rows { jobsByKey[key, default: []].append(candidate) }
            let groups = keys.map { FlowClaimPlanner.KeyGroup(key: $0, jobs: jobsByKey[$0] ?? []) }
            let unkeyed = try await connection.queryIfOpen("""
                SELECT id, priority, run_at FROM surety_jobs
                WHERE \(unescaped: WaitingStates.condition) AND queue = \(queue) AND partition_key IS NULL AND run_at <= \(nowMicros)
                ORDER BY priority, run_at, id LIMIT \(limit)
                """, logger: logger).collect { row in
                    FlowClaimPlanner.Candidate(id: JobID(try row[0].decode(Int64.self)), priority: try row[1].decode(Int.self), runAt: Timestamp.date(try row[2].decode(Int64.self)))
                }
            var names: [String] = []
            if limits.rate != nil { names.append(FlowClaimPlanner.queueBucket) }
            if limits.ratePerKey != nil { names += keys }
            let stored = names.isEmpty ? [:] : try await buckets(connection, queue: queue, names: names)
            let plan = FlowClaimPlanner.plan(.init(
                limits: limits, limit: limit, now: now, runningTotal: runningTotal, runningPerKey: runningPerKey,
                keyed: groups, windowComplete: complete, unkeyed: unkeyed, buckets: stored
            ))
            changedBuckets = plan.buckets
            try await connection.queryIfOpen("UPDATE surety_queue_limits SET key_cursor = \(plan.cursor) WHERE queue = \(queue)", logger: logger)
            if !plan.ids.isEmpty {
                var bindings = JobTransitionSQL.claimBindings(request.transition, leaseTimes: leaseTimes, extra: 1)
                bindings.append(plan.ids.map(\.rawValue))
                claimed = try await connection.queryIfOpen(PostgresQuery(unsafeSQL: Self.claimChosenSQL, binds: bindings), logger: logger).collect { row in
                    var json = JSONColumns.DecodingCache()
                    return try JobTransitionSQL.decodeClaimed(row, json: &json)
                }
            }
        }
        if !changedBuckets.isEmpty {
            let names = Array(changedBuckets.keys)
            let tokens = names.map { changedBuckets[$0]!.tokens }
            let refilled = names.map { changedBuckets[$0]!.refilledAt }
            try await connection.queryIfOpen("""
                INSERT INTO surety_rate_buckets (queue, bucket, tokens, refilled_at)
                SELECT \(queue), u.bucket, u.tokens, u.refilled_at
                FROM unnest(\(names)::text[], \(tokens)::int8[], \(refilled)::int8[]) AS u(bucket, tokens, refilled_at)
                ON CONFLICT (queue, bucket) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at
                """, logger: logger)
        }
        return claimed
    }

    /// The claim of the jobs the planner chose (`$5` their ids), still waiting.
    static let claimChosenSQL = JobTransitionSQL.claim("WHERE j.id = ANY($5::int8[]) AND \(WaitingStates.condition(of: "j"))")

    /// Up to `limit` distinct partition keys with waiting jobs, after `after`, in order: a loose
    /// index scan (one seek of surety_jobs_partitioned per key, never a scan of a key's jobs).
    private func keys(_ connection: PostgresConnection, queue: String, after: String, limit: Int) async throws -> [String] {
        try await connection.queryIfOpen("""
            WITH RECURSIVE k(key, n) AS (
                SELECT (SELECT partition_key FROM surety_jobs
                        WHERE \(unescaped: WaitingStates.condition) AND partition_key IS NOT NULL
                          AND queue = \(queue) AND partition_key > \(after)
                        ORDER BY partition_key LIMIT 1), 1
                UNION ALL
                SELECT (SELECT partition_key FROM surety_jobs
                        WHERE \(unescaped: WaitingStates.condition) AND partition_key IS NOT NULL
                          AND queue = \(queue) AND partition_key > k.key
                        ORDER BY partition_key LIMIT 1), k.n + 1
                FROM k WHERE k.key IS NOT NULL AND k.n < \(limit)
            )
            SELECT key FROM k WHERE key IS NOT NULL
            """, logger: logger).collect { try $0[0].decode(String.self) }
    }

    private func buckets(_ connection: PostgresConnection, queue: String, names: [String]) async throws -> [String: RateBucket] {
        let rows = try await connection.queryIfOpen("""
            SELECT bucket, tokens, refilled_at FROM surety_rate_buckets WHERE queue = \(queue) AND bucket = ANY(\(names)::text[])
            """, logger: logger).collect { (try $0[0].decode(String.self), RateBucket(tokens: try $0[1].decode(Int64.self), refilledAt: try $0[2].decode(Int64.self))) }
        var buckets: [String: RateBucket] = [:]
        for (name, bucket) in rows { buckets[name] = bucket }
        return buckets
    }
}
