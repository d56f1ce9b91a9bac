import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    // MARK: Operator actions

    public func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let notify = notifyQuery
        let result = try await transaction("requeue") { [self] connection in
            let result = try await Self.apply(ids, action: action, name: "requeue", crashPoint: .requeue, connection, logger: logger) { job in
                if let key = job.uniqueKey, job.uniqueScope == .whileActive {
                    let holder = try await connection.queryIfOpen("""
                        SELECT id FROM surety_jobs WHERE tenant = \(job.tenant.rawValue) AND unique_slot = \(key) AND id <> \(job.id.rawValue) LIMIT 1
                        """, logger: logger).collect { try $0[0].decode(Int64.self) }.first
                    if let holder { return .failure(JobLifecycle.SkipReason("unique key is held by job \(holder)")) }
                }
                return JobLifecycle.requeue(job, action: action)
            }
            if !result.changed.isEmpty { try await connection.queryIfOpen(notify, logger: logger) }
            return result
        }
        if !result.changed.isEmpty { signal() }
        return result
    }

    public func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        try await transaction("discard") { [self] connection in
            try await Self.apply(ids, action: action, name: "discard", connection, logger: logger) { JobLifecycle.discard($0, action: action) }
        }
    }

    public func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let notify = notifyQuery
        let (result, released) = try await transaction("cancel") { [self] connection in
            let result = try await Self.apply(ids, action: action, name: "cancel", connection, logger: logger) { JobLifecycle.cancel($0, action: action) }
            return (result, try await Self.advanceWorkflows(result.changed, at: action.at, connection, notify: notify, logger: logger))
        }
        if released { signal() }
        return result
    }

    /// Runs an operator transition from `JobLifecycle` on each job in turn, inside the caller's
    /// one transaction: locks and reads the row (`FOR UPDATE`), applies the pure transition,
    /// writes the new row back and an audit row. Operator actions are rare, so exact agreement
    /// with the lifecycle is worth more here than saving the read.
    static func apply(
        _ ids: [JobID], action: OperatorAction, name: String, crashPoint: CrashPoint? = nil, _ connection: PostgresConnection, logger: Logger,
        _ transition: (JobRecord) async throws -> Result<JobRecord, JobLifecycle.SkipReason>
    ) async throws -> BulkResult {
        var result = BulkResult()
        for id in ids {
            let rows = try await connection.queryIfOpen(
                "SELECT \(unescaped: JobRow.columns) FROM surety_jobs WHERE id = \(id.rawValue) FOR UPDATE", logger: logger
            ).collect { try JobRow.decode($0).record }
            guard let job = rows.first else {
                result.skipped.append(.init(id: id, reason: "no such job"))
                continue
            }
            switch try await transition(job) {
            case .success(let next):
                let slot = JobLifecycle.holdsUniqueKey(next) ? next.uniqueKey : nil
                try await connection.queryIfOpen("""
                    UPDATE surety_jobs SET
                        state = \(next.state.rawValue), run_at = \(Timestamp.micros(next.runAt)), attempt = \(next.attempt),
                        first_attempt_at = \(next.firstAttemptAt.map { Timestamp.micros($0) }),
                        attempted_at = \(next.attemptedAt.map { Timestamp.micros($0) }), attempted_by = \(next.attemptedBy),
                        lease_until = \(next.leaseUntil.map { Timestamp.micros($0) }), lease_token = NULL,
                        finished_at = \(next.finishedAt.map { Timestamp.micros($0) }), dead_reason = \(next.deadReason?.rawValue),
                        note = \(next.note), unique_slot = \(slot)
                    WHERE id = \(id.rawValue)
                    """, logger: logger)
                try await connection.queryIfOpen("""
                    INSERT INTO surety_audit (job_id, action, actor, reason, at)
                    VALUES (\(id.rawValue), \(name), \(action.actor), \(action.reason), \(Timestamp.micros(action.at)))
                    """, logger: logger)
                result.changed.append(id)
                if let crashPoint { CrashPoints.reach(crashPoint) }
            case .failure(let skip):
                result.skipped.append(.init(id: id, reason: skip.message))
            }
        }
        return result
    }
}


extension PostgresStore {
    /// The server settings that decide what a commit costs (`fsync`, `synchronous_commit`,
    /// `full_page_writes`, `wal_level`, `shared_buffers`) and `server_version`, by name: what a
    /// benchmark report records beside its figures.
    public func durabilitySettings() async throws -> [String: String] {
        let query: PostgresQuery = """
            SELECT name, setting FROM pg_settings
            WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'server_version')
            """
        return try await self.query("read settings", query) { rows in
            var settings: [String: String] = [:]
            for try await (name, setting) in rows.decode((String, String).self) { settings[name] = setting }
            return settings
        }
    }

    /// Drops this store's schema with everything in it (`DROP SCHEMA ... CASCADE`): for throwaway
    /// schemas such as `surety bench`'s per-scenario ones. Refuses the `public` schema.
    /// - Throws: ``Surety/SuretyError/Code/invalidArgument`` for `public`.
    public func dropSchema() async throws {
        // The schema name is validated (lower-case letters, digits, '_'), so quoting it is enough.
        guard configuration.schema != "public" else {
            throw SuretyError(.invalidArgument, "refusing to drop the public schema")
        }
        try await self.query("drop schema", PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(configuration.schema)\" CASCADE")) { _ in }
    }
}
