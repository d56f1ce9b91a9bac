import Foundation
import GRDB
import Surety

extension SQLiteStore {
    // MARK: Reads

    public func job(_ id: JobID) async throws -> JobRecord? {
        try await read("job") { db in try Self.fetchJob(id, db)?.record }
    }

    public func jobs(_ filter: JobFilter) async throws -> [JobRecord] {
        guard filter.limit > 0 else { return [] }
        try StoreErrors.refuseNUL(filter.queues + filter.types + filter.errorTypes, "a filter value")
        try StoreErrors.refuseNUL([filter.tag] + Array(filter.correlation.keys) + Array(filter.correlation.values), "a filter value")
        let (sql, arguments) = Self.listQuery(filter)
        return try await read("jobs") { db in
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var records: [JobRecord] = []
            while let row = try rows.next() { records.append(try JobRow.decode(row).record) }
            return records
        }
    }

    /// The SQL for a filter; every field becomes a bound argument.
    static func listQuery(_ filter: JobFilter) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments = StatementArguments()
        func anyOf(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
            arguments += StatementArguments(values)
        }
        // States are inlined as literals (they are enum raw values, never user text) so that
        // SQLite can match `state = 'dead'` to the partial index of the dead-letter inbox.
        let states = Set(filter.states).sorted { $0.rawValue < $1.rawValue }.map { "'\($0.rawValue)'" }
        if states.count == 1 {
            clauses.append("state = \(states[0])")
        } else if !states.isEmpty {
            clauses.append("state IN (\(states.joined(separator: ", ")))")
        }
        anyOf("queue", filter.queues)
        anyOf("type", filter.types)
        anyOf("tenant", filter.tenants.map(\.rawValue))
        if let tag = filter.tag {
            // A malformed tags value matches no tag instead of failing the whole query.
            clauses.append("CASE WHEN json_valid(tags) THEN EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ? AND type = 'text') ELSE 0 END")
            arguments += [tag]
        }
        for (key, value) in filter.correlation.sorted(by: { $0.key < $1.key }) {
            clauses.append("CASE WHEN json_valid(correlation) THEN EXISTS (SELECT 1 FROM json_each(correlation) WHERE key = ? AND value = ? AND type = 'text') ELSE 0 END")
            arguments += [key, value]
        }
        if let reason = filter.deadReason {
            clauses.append("dead_reason = ?")
            arguments += [reason.rawValue]
        }
        if let after = filter.enqueuedAfter {
            clauses.append("enqueued_at >= ?")
            arguments += [Timestamp.micros(after)]
        }
        if let before = filter.enqueuedBefore {
            clauses.append("enqueued_at < ?")
            arguments += [Timestamp.micros(before)]
        }
        anyOf("last_error_type", filter.errorTypes)
        if let errorClass = filter.errorClass {
            clauses.append("last_error_class = ?")
            arguments += [errorClass.rawValue]
        }
        if let after = filter.finishedAfter {
            clauses.append("finished_at >= ?")
            arguments += [Timestamp.micros(after)]
        }
        if let before = filter.finishedBefore {
            clauses.append("finished_at < ?")
            arguments += [Timestamp.micros(before)]
        }
        if let beforeID = filter.beforeID {
            clauses.append("id < ?")
            arguments += [beforeID.rawValue]
        }
        let condition = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        arguments += [filter.limit]
        return ("SELECT \(JobRow.columns) FROM surety_jobs \(condition) ORDER BY id DESC LIMIT ?", arguments)
    }

    public func attempts(of id: JobID) async throws -> [AttemptRecord] {
        try await read("attempts") { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT attempt, worker, started_at, ended_at, outcome, error_type, error_message, error_class
                FROM surety_attempts WHERE job_id = ? ORDER BY id
                """), arguments: [id.rawValue])
            var records: [AttemptRecord] = []
            while let row = try rows.next() {
                let outcomeText = try row.decode(String.self, atIndex: 4)
                guard let outcome = AttemptOutcome(rawValue: outcomeText) else {
                    throw SuretyError(.storeCorrupt, "an attempt of job \(id) has an unknown outcome '\(outcomeText)' in surety_attempts; it was written by a newer Surety or by hand")
                }
                var error: AttemptError?
                if let type = try row.decode(String?.self, atIndex: 5) {
                    error = AttemptError(
                        type: type, message: try row.decode(String?.self, atIndex: 6) ?? "",
                        errorClass: JobRow.errorClass(try row.decode(String?.self, atIndex: 7))
                    )
                }
                records.append(AttemptRecord(
                    jobID: id, attempt: try row.decode(Int.self, atIndex: 0), worker: try row.decode(String.self, atIndex: 1),
                    startedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 2)),
                    endedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 3)),
                    outcome: outcome, error: error
                ))
            }
            if let job = try Self.fetchJob(id, db)?.record, let current = JobLifecycle.attemptOnJobRow(job) {
                records.append(current)
            }
            return records
        }
    }

    public func audit(of id: JobID) async throws -> [AuditRecord] {
        try await read("audit") { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT action, actor, reason, at FROM surety_audit WHERE job_id = ? ORDER BY id
                """), arguments: [id.rawValue])
            var records: [AuditRecord] = []
            while let row = try rows.next() {
                records.append(AuditRecord(
                    jobID: id, action: try row.decode(String.self, atIndex: 0), actor: try row.decode(String.self, atIndex: 1),
                    reason: try row.decode(String.self, atIndex: 2), at: Timestamp.date(try row.decode(Int64.self, atIndex: 3))
                ))
            }
            return records
        }
    }

    public func counts() async throws -> [JobCount] {
        let counts = try await read("counts") { db in
            // A scan of the table, on a reader connection (it never blocks the writer).
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT queue, type, state, count(*) FROM surety_jobs GROUP BY queue, type, state
                """))
            var counts: [JobCount] = []
            while let row = try rows.next() {
                let stateText = try row.decode(String.self, atIndex: 2)
                guard let state = JobState(rawValue: stateText) else {
                    throw SuretyError(.storeCorrupt, "surety_jobs has jobs in an unknown state '\(stateText)'; they were written by a newer Surety or by hand")
                }
                counts.append(JobCount(
                    queue: try row.decode(String.self, atIndex: 0), type: try row.decode(String.self, atIndex: 1),
                    state: state, count: try row.decode(Int.self, atIndex: 3)
                ))
            }
            return counts
        }
        return counts.sorted { ($0.queue, $0.type, $0.state.rawValue) < ($1.queue, $1.type, $1.state.rawValue) }
    }

    static func fetchJob(_ id: JobID, _ db: Database) throws -> JobRow.Decoded? {
        let statement = try db.cachedStatement(sql: "SELECT \(JobRow.columns) FROM surety_jobs WHERE id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [id.rawValue]) else { return nil }
        return try JobRow.decode(row)
    }

    // MARK: Operator actions

    public func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let result = try await write("requeue") { db in
            try Self.apply(ids, .requeue(action), action: action, name: "requeue", crashPoint: .requeue, db) { job in
                guard let key = job.uniqueKey, job.uniqueScope == .whileActive else { return nil }
                let holder = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT id FROM surety_jobs WHERE tenant = ? AND unique_slot = ? AND id != ? LIMIT 1"),
                    arguments: [job.tenant.rawValue, key, job.id.rawValue]
                )
                return holder.map { JobLifecycle.SkipReason("unique key is held by job \($0)") }
            }
        }
        if !result.changed.isEmpty { signal() }
        return result
    }

    public func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        try await write("discard") { db in
            try Self.apply(ids, .discard(action), action: action, name: "discard", db)
        }
    }

    public func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let (result, wake) = try await write("cancel") { db in
            let result = try Self.apply(ids, .cancel(action), action: action, name: "cancel", db)
            return (result, try Self.advanceWorkflows(result.changed, at: action.at, db))
        }
        if wake { signal() }
        return result
    }

    static let auditSQL = "INSERT INTO surety_audit (job_id, action, actor, reason, at) VALUES (?, ?, ?, ?, ?)"

    /// Runs an operator's `event` on each job in turn, inside the caller's one transaction:
    /// reads the row, applies the core's transition (after `refusal`, the store's own check, such
    /// as a requeue's unique key), writes the new row back (``JobTransitionSQL/operatorWrite``)
    /// and an audit row. Operator actions are rare, so exact agreement with the core is worth
    /// more here than saving the read.
    static func apply(
        _ ids: [JobID], _ event: JobEvent, action: OperatorAction, name: String, crashPoint: CrashPoint? = nil, _ db: Database,
        refusal: (JobRecord) throws -> JobLifecycle.SkipReason? = { _ in nil }
    ) throws -> BulkResult {
        var result = BulkResult()
        let transition = JobLifecycle.transition(for: event)
        let update = try db.cachedStatement(sql: JobTransitionSQL.operatorWrite)
        let audit = try db.cachedStatement(sql: auditSQL)
        for id in ids {
            guard let job = try fetchJob(id, db)?.record else {
                result.skipped.append(.init(id: id, reason: "no such job"))
                continue
            }
            if let skip = try refusal(job) {
                result.skipped.append(.init(id: id, reason: skip.message))
                continue
            }
            switch transition.apply(to: job) {
            case .success(let next):
                try update.execute(arguments: JobTransitionSQL.operatorWriteValues(next))
                try audit.execute(arguments: [id.rawValue, name, action.actor, action.reason, Timestamp.micros(action.at)])
                result.changed.append(id)
                if let crashPoint { CrashPoints.reach(crashPoint) }
            case .failure(let skip):
                result.skipped.append(.init(id: id, reason: skip.message))
            }
        }
        return result
    }
}
