import Foundation
import GRDB
import Surety

extension SQLiteStore {
    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        for job in jobs { try StoreErrors.refuseNUL(in: job) }
        // Concurrent enqueues share one transaction through the store's write groups (each in
        // its own savepoint); a lone one writes at once.
        let results = try await write("enqueue") { db in
            let results = try self.insertShedding(jobs, db)
            CrashPoints.reach(.enqueueGroup)
            return results
        }
        if results.contains(where: \.inserted) { signal() }
        return results
    }

    /// Transactional enqueue (the outbox pattern): inserts the jobs inside the application's own
    /// GRDB write transaction, so they exist if and only if that transaction commits.
    ///
    /// ```swift
    /// try await store.database.write { db in
    ///     try db.execute(sql: "INSERT INTO orders ...")
    ///     try store.enqueue([receiptJob], in: db)
    /// }
    /// ```
    ///
    /// The jobs are inserted in a savepoint: if this call throws, none of them is inserted and the
    /// application's transaction may continue. Called outside a transaction, it runs and commits
    /// its own (`BEGIN IMMEDIATE`). In-process workers are woken after the commit.
    ///
    /// - Throws: `SuretyError` (`storeUnavailable` with the underlying SQLite error).
    @discardableResult
    public func enqueue(_ jobs: [NewJob], in db: Database) throws -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        for job in jobs { try StoreErrors.refuseNUL(in: job) }
        do {
            var results: [EnqueuedJob] = []
            let insert = { () throws -> Database.TransactionCompletion in
                results = try self.insertShedding(jobs, db)
                if results.contains(where: \.inserted) {
                    db.afterNextTransaction(onCommit: { [weak self] _ in self?.signal() })
                }
                return .commit
            }
            if db.isInsideTransaction {
                try db.inSavepoint(insert)
            } else {
                // Take the write lock up front, as every other write of the store does.
                try db.inTransaction(.immediate, insert)
            }
            return results
        } catch {
            throw StoreErrors.wrap(error, path: path, operation: "enqueue")
        }
    }

    static let insertColumns = """
        id, type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at, \
        unique_key, unique_scope, unique_slot, tags, correlation, partition_key, trace_context
        """
    static let insertColumnCount = 17

    /// Runs of jobs without a unique key are inserted in statements of these many rows, largest
    /// first: one statement execution per row cost as much again as the rows themselves.
    static let chunkSizes = [64, 16, 4, 1]

    /// The INSERTs for each of ``chunkSizes``, built once (the hot path looks them up instead of
    /// joining the same string for every enqueue).
    static let plainInsertSQLs = Dictionary(uniqueKeysWithValues: chunkSizes.map { ($0, plainInsertSQL(rows: $0)) })

    /// A multi-row INSERT for `rows` jobs without unique keys.
    static func plainInsertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: insertColumnCount).joined(separator: ", ") + ")"
        return "INSERT INTO surety_jobs (\(insertColumns)) VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// A keyed job: refused by the partial unique index when its tenant already has a holder.
    static let keyedInsertSQL = """
        INSERT INTO surety_jobs (\(insertColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING
        """

    static let holderSQL = "SELECT id FROM surety_jobs WHERE tenant = ? AND unique_slot = ?"

    /// The next id AUTOINCREMENT would give. Ids are assigned explicitly so a multi-row INSERT
    /// knows each row's id without relying on an unspecified RETURNING order; the writer holds
    /// the write lock, so nobody else inserts meanwhile.
    static let nextIDSQL = """
        SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'surety_jobs'), 0),
                   coalesce((SELECT max(id) FROM surety_jobs), 0)) + 1
        """

    /// Inserts in order. Runs of jobs without a unique key go in multi-row statements; a keyed
    /// job goes alone, so that a key held by another job (including one inserted earlier in the
    /// same batch) is refused by the partial unique index on (tenant, unique_slot) and the
    /// holder's id returned instead.
    static func insert(_ jobs: [NewJob], _ db: Database) throws -> [EnqueuedJob] {
        if jobs.count == 1, jobs[0].uniqueKey == nil { return [try insertOne(jobs[0], db)] }
        var next: Int64?
        try DirectStatement(nextIDSQL, db).forEachRow([]) { row in next = row.int64IfPresent(0) }
        guard var nextID = next else {
            throw SuretyError(.storeCorrupt, "could not read the next job id from surety_jobs")
        }
        var results: [EnqueuedJob] = []
        results.reserveCapacity(jobs.count)
        var encoder = RowEncoder()
        var index = 0
        while index < jobs.count {
            if let key = jobs[index].uniqueKey {
                let job = jobs[index]
                var values: [DatabaseValue] = []
                values.reserveCapacity(insertColumnCount)
                encoder.append(job, id: nextID, to: &values)
                if try DirectStatement(keyedInsertSQL, db).execute(values) > 0 {
                    results.append(EnqueuedJob(id: JobID(nextID), inserted: true))
                    nextID += 1
                } else {
                    guard let holder = try Int64.fetchOne(db.cachedStatement(sql: holderSQL), arguments: [job.tenant.rawValue, key]) else {
                        throw SuretyError(.storeCorrupt, "a unique key conflict was reported but no job holds the key; check the surety_jobs_unique index")
                    }
                    results.append(EnqueuedJob(id: JobID(holder), inserted: false))
                }
                index += 1
                continue
            }
            var end = index + 1
            while end < jobs.count, jobs[end].uniqueKey == nil, end - index < chunkSizes[0] { end += 1 }
            while index < end {
                let rows = chunkSizes.first { $0 <= end - index } ?? 1
                var values: [DatabaseValue] = []
                values.reserveCapacity(rows * insertColumnCount)
                for job in jobs[index..<(index + rows)] {
                    encoder.append(job, id: nextID, to: &values)
                    results.append(EnqueuedJob(id: JobID(nextID), inserted: true))
                    nextID += 1
                }
                try DirectStatement(plainInsertSQLs[rows] ?? plainInsertSQL(rows: rows), db).execute(values)
                index += rows
            }
        }
        return results
    }

    /// One job without a unique key (a one-at-a-time enqueue): SQLite assigns the id and
    /// returns it, which spares the read of the next id (about 4 % of a one-row enqueue). Batches
    /// keep explicit ids: `RETURNING` on many rows cost more than that read saves.
    static func insertOne(_ job: NewJob, _ db: Database) throws -> EnqueuedJob {
        var values: [DatabaseValue] = []
        values.reserveCapacity(insertColumnCount)
        var encoder = RowEncoder()
        encoder.append(job, id: nil, to: &values)
        var inserted: Int64?
        try DirectStatement(insertOneSQL, db).forEachRow(values) { row in inserted = row.int64(0) }
        guard let inserted else { throw SuretyError(.storeCorrupt, "enqueue: SQLite inserted no row and reported no error") }
        return EnqueuedJob(id: JobID(inserted), inserted: true)
    }

    static let insertOneSQL = """
        INSERT INTO surety_jobs (\(insertColumns.dropFirst("id, ".count)))
        VALUES (\(Array(repeating: "?", count: insertColumnCount - 1).joined(separator: ", ")))
        RETURNING id
        """

    /// Encodes job rows for the INSERT statements, encoding each distinct tags and correlation
    /// value once per batch (bulk enqueues usually share them).
    struct RowEncoder {
        private var tags: ([String], DatabaseValue) = ([], JSONColumns.emptyArray.databaseValue)
        private var correlation: ([String: String], DatabaseValue) = ([:], JSONColumns.emptyObject.databaseValue)

        /// With `id` nil, the row has no id value (SQLite assigns it).
        mutating func append(_ job: NewJob, id: Int64?, to values: inout [DatabaseValue]) {
            if job.tags != tags.0 { tags = (job.tags, JSONColumns.encode(tags: job.tags).databaseValue) }
            if job.correlation != correlation.0 {
                correlation = (job.correlation, JSONColumns.encode(correlation: job.correlation).databaseValue)
            }
            let key = job.uniqueKey?.databaseValue ?? .null
            if let id { values.append(id.databaseValue) }
            values.append(job.type.databaseValue)
            values.append(job.queue.databaseValue)
            values.append(job.priority.databaseValue)
            values.append(job.tenant.rawValue.databaseValue)
            values.append(job.initialState.rawValue.databaseValue)
            values.append(job.payload.databaseValue)
            values.append(job.maxAttempts.databaseValue)
            values.append(Timestamp.micros(job.runAt).databaseValue)
            values.append(Timestamp.micros(job.enqueuedAt).databaseValue)
            values.append(key)
            values.append(job.uniqueScope.rawValue.databaseValue)
            values.append(key)
            values.append(tags.1)
            values.append(correlation.1)
            values.append(job.partitionKey?.databaseValue ?? .null)
            values.append(job.traceContext.isEmpty ? .null : JSONColumns.encode(correlation: job.traceContext).databaseValue)
        }
    }
}

extension SQLiteStore {
    /// Typed transactional enqueue: ``enqueue(_:in:)`` for one job, built by
    /// `JobQueue.newJob(_:tenant:options:)` with the same rules as
    /// `JobQueue.enqueue(_:tenant:options:)` (the type's queue, priority, attempts and
    /// unique scope, the job's own keys, the per-call overrides). No registry is needed.
    ///
    /// ```swift
    /// try await store.database.write { db in
    ///     try db.execute(sql: "INSERT INTO orders ...")
    ///     try store.enqueue(SendReceipt(orderID: id), tenant: acme, in: db)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - job: the job to enqueue.
    ///   - tenant: the tenant it runs for.
    ///   - options: per-call overrides. Default: none.
    ///   - clock: the time source for the job's `enqueuedAt` and `runAt`; pass your
    ///     `JobQueue`'s clock (a test clock in tests). Default: `SystemClock`.
    ///   - db: the application's GRDB connection, inside its write transaction.
    /// - Throws: `SuretyError`: `invalidPayload` or `invalidArgument` from building the
    ///   job (nothing written), else as ``enqueue(_:in:)``.
    @discardableResult
    public func enqueue<J: Job>(
        _ job: J, tenant: TenantID, options: EnqueueOptions = EnqueueOptions(), clock: any SuretyClock = SystemClock(),
        in db: Database
    ) throws -> EnqueuedJob {
        try enqueue([JobQueue(store: self, clock: clock).newJob(job, tenant: tenant, options: options)], in: db)[0]
    }
}
