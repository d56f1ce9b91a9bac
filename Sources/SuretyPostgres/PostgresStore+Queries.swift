import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    // MARK: Reads

    public func job(_ id: JobID) async throws -> JobRecord? {
        try await query("job", "SELECT \(unescaped: JobRow.columns) FROM surety_jobs WHERE id = \(id.rawValue)") { rows in
            try await rows.collect { try JobRow.decode($0).record }.first
        }
    }

    public func jobs(_ filter: JobFilter) async throws -> [JobRecord] {
        guard filter.limit > 0 else { return [] }
        return try await query("jobs", try Self.listQuery(filter)) { rows in
            try await rows.collect { try JobRow.decode($0).record }
        }
    }

    /// The SQL for a filter. Every value is a bound parameter (`$n`); only fixed SQL text is
    /// assembled. Tags and correlation IDs use jsonb operators (`?` and `@>`).
    static func listQuery(_ filter: JobFilter) throws -> PostgresQuery {
        var clauses: [String] = []
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        let states = Set(filter.states).sorted { $0.rawValue < $1.rawValue }.map(\.rawValue)
        if !states.isEmpty { clauses.append("state = ANY(\(try bind(states))::text[])") }
        if !filter.queues.isEmpty { clauses.append("queue = ANY(\(try bind(filter.queues))::text[])") }
        if !filter.types.isEmpty { clauses.append("type = ANY(\(try bind(filter.types))::text[])") }
        if !filter.tenants.isEmpty { clauses.append("tenant = ANY(\(try bind(filter.tenants.map(\.rawValue)))::text[])") }
        if let tag = filter.tag { clauses.append("tags ? \(try bind(tag))::text") }
        if !filter.correlation.isEmpty {
            clauses.append("correlation @> \(try bind(JSONColumns.encode(correlation: filter.correlation)))::jsonb")
        }
        if let reason = filter.deadReason { clauses.append("dead_reason = \(try bind(reason.rawValue))") }
        if let after = filter.enqueuedAfter { clauses.append("enqueued_at >= \(try bind(Timestamp.micros(after)))") }
        if let before = filter.enqueuedBefore { clauses.append("enqueued_at < \(try bind(Timestamp.micros(before)))") }
        if !filter.errorTypes.isEmpty { clauses.append("last_error_type = ANY(\(try bind(filter.errorTypes))::text[])") }
        if let errorClass = filter.errorClass { clauses.append("last_error_class = \(try bind(errorClass.rawValue))") }
        if let after = filter.finishedAfter { clauses.append("finished_at >= \(try bind(Timestamp.micros(after)))") }
        if let before = filter.finishedBefore { clauses.append("finished_at < \(try bind(Timestamp.micros(before)))") }
        if let beforeID = filter.beforeID { clauses.append("id < \(try bind(beforeID.rawValue))") }
        let condition = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let limit = try bind(filter.limit)
        return PostgresQuery(unsafeSQL: "SELECT \(JobRow.columns) FROM surety_jobs \(condition) ORDER BY id DESC LIMIT \(limit)", binds: binds)
    }

    public func attempts(of id: JobID) async throws -> [AttemptRecord] {
        // One statement: the history rows, then the job row (for the current or successful last
        // attempt), read in one snapshot.
        let query: PostgresQuery = """
            SELECT 0 AS part, a.id AS seq, a.attempt, a.worker, a.started_at, a.ended_at, a.outcome,
                   a.error_type, a.error_message, a.error_class
            FROM surety_attempts a WHERE a.job_id = \(id.rawValue)
            UNION ALL
            SELECT 1, j.id, j.attempt, coalesce(j.attempted_by, ''), coalesce(j.attempted_at, 0), j.finished_at, j.state,
                   NULL, NULL, NULL
            FROM surety_jobs j WHERE j.id = \(id.rawValue) AND j.attempted_at IS NOT NULL AND j.attempted_by IS NOT NULL
              AND j.state IN ('running', 'completed')
            ORDER BY part, seq
            """
        return try await self.query("attempts", query) { rows in
            try await rows.collect { row -> AttemptRecord in
                let part = try row[0].decode(Int.self)
                let attempt = try row[2].decode(Int.self)
                let worker = try row[3].decode(String.self)
                let startedAt = Timestamp.date(try row[4].decode(Int64.self))
                let endedAt = Timestamp.dateIfPresent(try row[5].decode(Int64?.self))
                let text = try row[6].decode(String.self)
                if part == 1 {
                    // The job row: running (no end yet) or completed (a success).
                    let running = text == JobState.running.rawValue
                    return AttemptRecord(jobID: id, attempt: attempt, worker: worker, startedAt: startedAt,
                                         endedAt: running ? nil : endedAt, outcome: running ? nil : .succeeded, error: nil)
                }
                guard let outcome = AttemptOutcome(rawValue: text) else {
                    throw SuretyError(.storeCorrupt, "an attempt of job \(id) has an unknown outcome '\(text)' in surety_attempts; it was written by a newer Surety or by hand")
                }
                var error: AttemptError?
                if let type = try row[7].decode(String?.self) {
                    error = AttemptError(type: type, message: try row[8].decode(String?.self) ?? "", errorClass: JobRow.errorClass(try row[9].decode(String?.self)))
                }
                return AttemptRecord(jobID: id, attempt: attempt, worker: worker, startedAt: startedAt, endedAt: endedAt, outcome: outcome, error: error)
            }
        }
    }

    public func audit(of id: JobID) async throws -> [AuditRecord] {
        try await query("audit", "SELECT action, actor, reason, at FROM surety_audit WHERE job_id = \(id.rawValue) ORDER BY id") { rows in
            try await rows.collect { row in
                AuditRecord(
                    jobID: id, action: try row[0].decode(String.self), actor: try row[1].decode(String.self),
                    reason: try row[2].decode(String.self), at: Timestamp.date(try row[3].decode(Int64.self))
                )
            }
        }
    }

    public func counts() async throws -> [JobCount] {
        let counts = try await query("counts", "SELECT queue, type, state, count(*) FROM surety_jobs GROUP BY queue, type, state") { rows in
            try await rows.collect { row -> JobCount in
                let stateText = try row[2].decode(String.self)
                guard let state = JobState(rawValue: stateText) else {
                    throw SuretyError(.storeCorrupt, "surety_jobs has jobs in an unknown state '\(stateText)'; they were written by a newer Surety or by hand")
                }
                return JobCount(queue: try row[0].decode(String.self), type: try row[1].decode(String.self), state: state, count: try row[3].decode(Int.self))
            }
        }
        return counts.sorted { ($0.queue, $0.type, $0.state.rawValue) < ($1.queue, $1.type, $1.state.rawValue) }
    }
}
