import Foundation
import GRDB
import Surety

/// Flow control (``Surety/FlowControlStore``) on SQLite: limits in `surety_queue_limits`, token
/// buckets in `surety_rate_buckets`, all decided inside the claim's or enqueue's write
/// transaction (the single writer serialises them, across processes too). docs/schema.md
/// describes the queries.
extension SQLiteStore: FlowControlStore {
    public func queueLimits() async throws -> [QueueLimits] {
        try await read("queueLimits") { db in try Self.loadLimits(db) }
    }

    public func setQueueLimits(_ limits: QueueLimits) async throws {
        try limits.validate()
        try await write("setQueueLimits") { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO surety_queue_limits
                    (queue, concurrency, concurrency_per_key, rate_count, rate_period_us, rate_burst,
                     key_rate_count, key_rate_period_us, key_rate_burst, fair, max_backlog, overflow, key_cursor)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                """, arguments: [
                    limits.queue, limits.concurrency, limits.concurrencyPerKey,
                    limits.rate?.count, limits.rate?.periodMicros, limits.rate?.burst,
                    limits.ratePerKey?.count, limits.ratePerKey?.periodMicros, limits.ratePerKey?.burst,
                    limits.fair, limits.maxBacklog, limits.overflow.rawValue,
                ])
            // New limits start with full buckets.
            try db.execute(sql: "DELETE FROM surety_rate_buckets WHERE queue = ?", arguments: [limits.queue])
        }
        limitsCache.invalidate()
    }

    @discardableResult
    public func removeQueueLimits(queue: String) async throws -> Bool {
        try StoreErrors.refuseNUL([queue], "the queue name")
        let removed = try await write("removeQueueLimits") { db -> Bool in
            try db.execute(sql: "DELETE FROM surety_queue_limits WHERE queue = ?", arguments: [queue])
            let removed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM surety_rate_buckets WHERE queue = ?", arguments: [queue])
            return removed
        }
        limitsCache.invalidate()
        return removed
    }

    static func loadLimits(_ db: Database) throws -> [QueueLimits] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT queue, concurrency, concurrency_per_key, rate_count, rate_period_us, rate_burst,
                   key_rate_count, key_rate_period_us, key_rate_burst, fair, max_backlog, overflow
            FROM surety_queue_limits ORDER BY queue
            """)
        return try rows.map { row in
            try QueueLimits.fromStore(
                queue: row[0], concurrency: row[1], concurrencyPerKey: row[2],
                rateCount: row[3], ratePeriodMicros: row[4], rateBurst: row[5],
                keyRateCount: row[6], keyRatePeriodMicros: row[7], keyRateBurst: row[8],
                fair: row[9], maxBacklog: row[10], overflow: row[11]
            )
        }
    }

    /// The limits by queue, from the cache or (once per refresh interval) from the file.
    func currentLimits(_ db: Database, now: Date) throws -> [String: QueueLimits] {
        if let cached = limitsCache.current(now: now) { return cached }
        return limitsCache.store(try Self.loadLimits(db), at: now)
    }

    // MARK: Enqueue

    /// Inserts the jobs, after load shedding when a queue in the batch has a maximum backlog.
    func insertShedding(_ jobs: [NewJob], _ db: Database) throws -> [EnqueuedJob] {
        let bounded = LoadShedding.bounded(jobs, limits: try currentLimits(db, now: jobs[0].enqueuedAt))
        guard !bounded.isEmpty else { return try Self.insert(jobs, db) }
        var backlogs: [String: Int] = [:]
        for (queue, limits) in bounded {
            // Counts at most max_backlog index entries: the cost is bounded by the limit.
            backlogs[queue] = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM (
                    SELECT 1 FROM surety_jobs INDEXED BY surety_jobs_claimable
                    WHERE \(WaitingStates.condition) AND queue = ? LIMIT ?)
                """), arguments: [queue, limits.maxBacklog ?? 0]) ?? 0
        }
        let admitted = try LoadShedding.admit(jobs, bounded: bounded, backlogs: backlogs)
        let kept = zip(jobs, admitted).filter(\.1).map(\.0)
        return LoadShedding.merge(admitted, inserted: kept.isEmpty ? [] : try Self.insert(kept, db))
    }

    // MARK: Claim

    /// A claim that involves at least one queue with claim limits: those queues first (each by
    /// ``claimLimited(_:queue:limits:limit:request:)``), then the others by the fast statement
    /// with what is left of the claim's limit.
    func claimWithLimits(_ db: Database, queues: [String], limits: [String: QueueLimits], request: ClaimRequest) throws -> [ClaimedJob] {
        var claimed: [ClaimedJob] = []
        for queue in queues {
            guard let queueLimits = limits[queue], queueLimits.limitsClaims, claimed.count < request.limit else { continue }
            claimed += try claimLimited(db, queue: queue, limits: queueLimits, limit: request.limit - claimed.count, request: request)
        }
        let free = queues.filter { limits[$0]?.limitsClaims != true }
        if !free.isEmpty, claimed.count < request.limit {
            claimed += try Self.fastClaim(db, queues: free, limit: request.limit - claimed.count, request: request)
        }
        return claimed
    }

    /// The fast claim statement (``claimSQL(queueCount:)``) for some queues.
    static func fastClaim(_ db: Database, queues: [String], limit: Int, request: ClaimRequest) throws -> [ClaimedJob] {
        var values = JobTransitionSQL.claimValues(request.transition)
        values.reserveCapacity(4 + queues.count)
        values.append(limit.databaseValue)
        for queue in queues { values.append(queue.databaseValue) }
        let statement = try DirectStatement(cachedClaimSQL(queueCount: queues.count), db)
        var claimed: [ClaimedJob] = []
        claimed.reserveCapacity(limit)
        var json = JSONColumns.DecodingCache()
        try statement.forEachRow(values) { row in
            claimed.append(JobTransitionSQL.decodeClaimed(row, json: &json))
        }
        return claimed
    }

    /// The claim of one chosen job (`?4` its id), still waiting.
    static let claimOneSQL = JobTransitionSQL.claim("WHERE id = ?4 AND \(WaitingStates.condition)")

    static let waitingKeyed = "\(WaitingStates.condition) AND partition_key IS NOT NULL AND queue = ?"

    func claimLimited(_ db: Database, queue: String, limits: QueueLimits, limit: Int, request: ClaimRequest) throws -> [ClaimedJob] {
        let now = request.now
        let nowMicros = Timestamp.micros(now)
        let runningTotal = try Int.fetchOne(db.cachedStatement(sql: """
            SELECT count(*) FROM surety_jobs INDEXED BY surety_jobs_leases WHERE state = 'running' AND queue = ?
            """), arguments: [queue]) ?? 0
        let allowance = FlowClaimPlanner.allowance(limits, limit: limit, running: runningTotal)
        guard allowance > 0 else { return [] }
        var buckets: [String: RateBucket] = [:]
        func loadBucket(_ name: String) throws {
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tokens, refilled_at FROM surety_rate_buckets WHERE queue = ? AND bucket = ?"), arguments: [queue, name]) {
                buckets[name] = RateBucket(tokens: row[0], refilledAt: row[1])
            }
        }
        if limits.rate != nil { try loadBucket(FlowClaimPlanner.queueBucket) }

        var ids: [JobID] = []
        var claimed: [ClaimedJob] = []
        var changedBuckets: [String: RateBucket] = [:]
        if !FlowClaimPlanner.needsKeys(limits) {
            // Queue-wide limits only: the fast statement, cut to the allowance and the tokens.
            let (bucket, tokens) = FlowClaimPlanner.queueTokens(limits, bucket: buckets[FlowClaimPlanner.queueBucket], now: now)
            let take = min(allowance, tokens)
            if take > 0 { claimed = try Self.fastClaim(db, queues: [queue], limit: take, request: request) }
            if let bucket { changedBuckets[FlowClaimPlanner.queueBucket] = FlowClaimPlanner.consume(claimed.count, from: bucket, limits) }
        } else {
            var runningPerKey: [String: Int] = [:]
            if limits.concurrencyPerKey != nil {
                let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                    SELECT partition_key, count(*) FROM surety_jobs INDEXED BY surety_jobs_running_keys
                    WHERE state = 'running' AND partition_key IS NOT NULL AND queue = ? GROUP BY partition_key
                    """), arguments: [queue])
                while let row = try rows.next() { runningPerKey[row[0]] = row[1] }
            }
            // The key window: keys after the cursor, then from the start (one index seek each).
            let cursor = try String.fetchOne(db.cachedStatement(sql: "SELECT key_cursor FROM surety_queue_limits WHERE queue = ?"), arguments: [queue]) ?? nil
            let window = FlowClaimPlanner.keyWindow(limit: limit)
            let nextKey = try db.cachedStatement(sql: """
                SELECT partition_key FROM surety_jobs INDEXED BY surety_jobs_partitioned
                WHERE \(Self.waitingKeyed) AND partition_key > ? ORDER BY partition_key LIMIT 1
                """)
            var keys: [String] = []
            var after = cursor ?? ""
            var wrapped = cursor == nil
            var complete = false
            while keys.count < window {
                guard let key = try String.fetchOne(nextKey, arguments: [queue, after]) else {
                    if wrapped { complete = true; break }
                    wrapped = true
                    after = ""
                    continue
                }
                if wrapped, let cursor, key > cursor { complete = true; break }
                keys.append(key)
                after = key
            }
            let fetch = FlowClaimPlanner.perKeyFetch(limits, limit: limit, keys: keys.count)
            let keyJobs = try db.cachedStatement(sql: limits.isOrdered ? """
                SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_partitioned
                WHERE \(Self.waitingKeyed) AND partition_key = ? ORDER BY id LIMIT 1
                """ : """
                SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_partitioned
                WHERE \(Self.waitingKeyed) AND partition_key = ? AND run_at <= ? ORDER BY id LIMIT ?
                """)
            var groups: [FlowClaimPlanner.KeyGroup] = []
            for key in keys {
                let arguments: StatementArguments = limits.isOrdered ? [queue, key] : [queue, key, nowMicros, fetch]
                let jobs = try Row.fetchAll(keyJobs, arguments: arguments).map { row in
                    FlowClaimPlanner.Candidate(id: JobID(row[0]), priority: row[1], runAt: Timestamp.date(row[2]))
                }
                groups.append(.init(key: key, jobs: jobs))
                if limits.ratePerKey != nil { try loadBucket(key) }
            }
            let unkeyed = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT id, priority, run_at FROM surety_jobs INDEXED BY surety_jobs_claimable
                WHERE \(WaitingStates.condition) AND queue = ? AND partition_key IS NULL AND run_at <= ?
                ORDER BY priority, run_at, id LIMIT ?
                """), arguments: [queue, nowMicros, limit]).map { row in
                    FlowClaimPlanner.Candidate(id: JobID(row[0]), priority: row[1], runAt: Timestamp.date(row[2]))
                }
            let plan = FlowClaimPlanner.plan(.init(
                limits: limits, limit: limit, now: now, runningTotal: runningTotal, runningPerKey: runningPerKey,
                keyed: groups, windowComplete: complete, unkeyed: unkeyed, buckets: buckets
            ))
            ids = plan.ids
            changedBuckets = plan.buckets
            try db.execute(sql: "UPDATE surety_queue_limits SET key_cursor = ? WHERE queue = ?", arguments: [plan.cursor, queue])
            let update = try DirectStatement(Self.claimOneSQL, db)
            var json = JSONColumns.DecodingCache()
            let claim = JobTransitionSQL.claimValues(request.transition)
            for id in ids {
                try update.forEachRow(claim + [id.rawValue.databaseValue]) { row in
                    claimed.append(JobTransitionSQL.decodeClaimed(row, json: &json))
                }
            }
        }
        let save = try db.cachedStatement(sql: """
            INSERT INTO surety_rate_buckets (queue, bucket, tokens, refilled_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (queue, bucket) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at
            """)
        for (name, bucket) in changedBuckets {
            try save.execute(arguments: [queue, name, bucket.tokens, bucket.refilledAt])
        }
        return claimed
    }
}
