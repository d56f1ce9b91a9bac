import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    /// Inserts the batch with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`,
    /// then looks up the holders of the unique keys that were refused, in one transaction that
    /// also sends the NOTIFY. A key held by a job earlier in the same batch is refused by the
    /// partial unique index like any other holder.
    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        // Concurrent enqueues share one statement or transaction (EnqueueGroupCommit); a lone
        // one is written at once.
        return try await enqueueGroup.enqueue(jobs) { batch in try await self.enqueueNow(batch) }
    }

    func enqueueNow(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
        // Queues with a maximum backlog take the load-shedding path (PostgresStore+FlowControl.swift).
        if let shed = try await enqueueShedding(jobs) { return shed }
        let rows = EnqueueRows(jobs)
        if jobs.allSatisfy({ $0.uniqueKey == nil }) {
            let results = try await insertUnkeyed(jobs, rows)
            signal()
            return results
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let results = try await transaction("enqueue") { [self] connection in
                    let results = try await Self.insert(jobs, rows, connection, notify: notifyQuery, logger: logger)
                    CrashPoints.reach(.enqueueGroup)
                    return results
                }
                if results.contains(where: \.inserted) { signal() }
                return results
            } catch is PostgresErrors.Retry where attempt < 5 {
                continue
            } catch is PostgresErrors.Retry {
                throw SuretyError(.storeUnavailable, "enqueue: a unique key's holder kept changing while the key was looked up; retry")
            }
        }
    }

    /// The batch as column arrays for `unnest` (postgres-nio binds arrays of non-optional values,
    /// so a nullable unique key travels with a `has_key` flag).
    struct EnqueueRows: Sendable {
        var type: [String] = [], queue: [String] = [], priority: [Int] = [], tenant: [String] = []
        var state: [String] = [], payload: [String] = [], maxAttempts: [Int] = []
        var runAt: [Int64] = [], enqueuedAt: [Int64] = [], uniqueKey: [String] = [], hasKey: [Bool] = []
        var uniqueScope: [String] = [], tags: [String] = [], correlation: [String] = []
        var partitionKey: [String] = [], hasPartition: [Bool] = []
        var traceContext: [String] = []

        init(_ jobs: [NewJob]) {
            var lastTags: ([String], String) = ([], JSONColumns.emptyArray)
            var lastCorrelation: ([String: String], String) = ([:], JSONColumns.emptyObject)
            for job in jobs {
                if job.tags != lastTags.0 { lastTags = (job.tags, JSONColumns.encode(tags: job.tags)) }
                if job.correlation != lastCorrelation.0 { lastCorrelation = (job.correlation, JSONColumns.encode(correlation: job.correlation)) }
                type.append(job.type)
                queue.append(job.queue)
                priority.append(job.priority)
                tenant.append(job.tenant.rawValue)
                state.append(job.initialState.rawValue)
                payload.append(job.payload)
                maxAttempts.append(job.maxAttempts)
                runAt.append(Timestamp.micros(job.runAt))
                enqueuedAt.append(Timestamp.micros(job.enqueuedAt))
                uniqueKey.append(job.uniqueKey ?? "")
                hasKey.append(job.uniqueKey != nil)
                uniqueScope.append(job.uniqueScope.rawValue)
                tags.append(lastTags.1)
                correlation.append(lastCorrelation.1)
                partitionKey.append(job.partitionKey ?? "")
                hasPartition.append(job.partitionKey != nil)
                traceContext.append(job.traceContext.isEmpty ? "" : JSONColumns.encode(correlation: job.traceContext))
            }
        }
    }

    private struct Holder: Hashable {
        var tenant: String
        var key: String
    }

    /// `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING id, tenant,
    /// unique_slot`, for batches with unique keys (inside ``insert(_:_:_:notify:logger:)``'s
    /// transaction). Batches without keys take ``InsertUnkeyedJobs``.
    static func insertQuery(_ rows: EnqueueRows) -> PostgresQuery {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 1500, interpolationCount: 17)
        sql.appendLiteral("""
            INSERT INTO surety_jobs (type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at,
                                     unique_key, unique_scope, unique_slot, tags, correlation, partition_key, trace_context)
            SELECT u.type, u.queue, u.priority, u.tenant, u.state, u.payload, u.max_attempts, u.run_at, u.enqueued_at,
                   CASE WHEN u.has_key THEN u.unique_key END, u.unique_scope, CASE WHEN u.has_key THEN u.unique_key END,
                   u.tags::jsonb, u.correlation::jsonb, CASE WHEN u.has_partition THEN u.partition_key END,
                   nullif(u.trace_context, '')
            FROM unnest(
            """)
        func column<T: PostgresDynamicTypeEncodable>(_ values: T, _ type: String, last: Bool = false) {
            sql.appendInterpolation(values)
            sql.appendLiteral("::\(type)" + (last ? "" : ", "))
        }
        column(rows.type, "text[]"); column(rows.queue, "text[]"); column(rows.priority, "int8[]"); column(rows.tenant, "text[]")
        column(rows.state, "text[]"); column(rows.payload, "text[]"); column(rows.maxAttempts, "int8[]"); column(rows.runAt, "int8[]")
        column(rows.enqueuedAt, "int8[]"); column(rows.uniqueKey, "text[]"); column(rows.hasKey, "bool[]"); column(rows.uniqueScope, "text[]")
        column(rows.tags, "text[]"); column(rows.correlation, "text[]"); column(rows.partitionKey, "text[]"); column(rows.hasPartition, "bool[]")
        column(rows.traceContext, "text[]", last: true)
        sql.appendLiteral("""
            )
                 WITH ORDINALITY AS u(type, queue, priority, tenant, state, payload, max_attempts, run_at, enqueued_at,
                                      unique_key, has_key, unique_scope, tags, correlation, partition_key, has_partition, trace_context, ord)
            ORDER BY u.ord
            ON CONFLICT DO NOTHING
            RETURNING id, tenant, unique_slot
            """)
        return PostgresQuery(stringInterpolation: sql)
    }

    /// Jobs without unique keys: one prepared statement (the INSERT and the NOTIFY) and its
    /// commit barrier, no BEGIN and COMMIT round trips (``InsertUnkeyedJobs``).
    func insertUnkeyed(_ jobs: [NewJob], _ rows: EnqueueRows) async throws -> [EnqueuedJob] {
        let ids = try await executeOnEnqueueConnection("enqueue", InsertUnkeyedJobs(rows: rows, channel: Self.channel, payload: configuration.schema)).sorted()
        guard ids.count == jobs.count else {
            throw SuretyError(.storeCorrupt, "enqueue: the database inserted \(ids.count) jobs where \(jobs.count) were expected")
        }
        // One statement, no transaction: the nearest point is after its commit, before the
        // callers learn of it.
        CrashPoints.reach(.enqueueGroup)
        return ids.map { EnqueuedJob(id: JobID($0), inserted: true) }
    }

    static func insert(_ jobs: [NewJob], _ rows: EnqueueRows, _ connection: PostgresConnection, notify: PostgresQuery, logger: Logger) async throws -> [EnqueuedJob] {
        // Ids come from the sequence in the order of the sorted SELECT, so the inserted rows'
        // ids ascend in batch order.
        let inserted = try await connection.queryIfOpen(insertQuery(rows), logger: logger).collect { row in
            (id: try row[0].decode(Int64.self), tenant: try row[1].decode(String.self), slot: try row[2].decode(String?.self))
        }
        let ids = inserted.map(\.id).sorted()
        let insertedKeys = Set(inserted.compactMap { row in row.slot.map { Holder(tenant: row.tenant, key: $0) } })

        // Which jobs were inserted: every job without a key, and the first job of the batch with
        // a key that the statement inserted.
        var claimedInBatch: Set<Holder> = []
        var refused: Set<Holder> = []
        var wasInserted: [Bool] = []
        wasInserted.reserveCapacity(jobs.count)
        for job in jobs {
            guard let key = job.uniqueKey else {
                wasInserted.append(true)
                continue
            }
            let holder = Holder(tenant: job.tenant.rawValue, key: key)
            if insertedKeys.contains(holder), claimedInBatch.insert(holder).inserted {
                wasInserted.append(true)
            } else {
                wasInserted.append(false)
                refused.insert(holder)
            }
        }
        guard wasInserted.filter({ $0 }).count == ids.count else {
            throw SuretyError(.storeCorrupt, "enqueue: the database inserted \(ids.count) jobs where \(wasInserted.filter { $0 }.count) were expected; check the surety_jobs_unique index")
        }

        var holders: [Holder: Int64] = [:]
        if !refused.isEmpty {
            let tenants = refused.map(\.tenant)
            let keys = refused.map(\.key)
            let found = try await connection.queryIfOpen("""
                SELECT j.tenant, j.unique_slot, j.id FROM surety_jobs j
                JOIN unnest(\(tenants)::text[], \(keys)::text[]) AS k(tenant, key)
                  ON j.tenant = k.tenant AND j.unique_slot = k.key
                """, logger: logger).collect { row in
                    (Holder(tenant: try row[0].decode(String.self), key: try row[1].decode(String.self)), try row[2].decode(Int64.self))
                }
            for (holder, id) in found { holders[holder] = id }
            // The holder committed a change that freed the key after our INSERT saw it: retry the
            // whole transaction (it will insert this time, or find the new holder).
            guard holders.count == refused.count else { throw PostgresErrors.Retry() }
        }

        var results: [EnqueuedJob] = []
        results.reserveCapacity(jobs.count)
        var next = ids.makeIterator()
        for (job, inserted) in zip(jobs, wasInserted) {
            if inserted, let id = next.next() {
                results.append(EnqueuedJob(id: JobID(id), inserted: true))
            } else if let key = job.uniqueKey, let holder = holders[Holder(tenant: job.tenant.rawValue, key: key)] {
                results.append(EnqueuedJob(id: JobID(holder), inserted: false))
            }
        }
        if !ids.isEmpty { try await connection.queryIfOpen(notify, logger: logger) }
        return results
    }
}
