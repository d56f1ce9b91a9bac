import Foundation
import PostgresNIO
import Surety

extension PostgresStore {
    // MARK: Operator actions

    public func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let notify = notifyQuery
        let result = try await transaction("requeue") { [self] connection in
            let result = try await Self.apply(ids, .requeue(action), action: action, name: "requeue", crashPoint: .requeue, connection, logger: logger) { job in
                guard let key = job.uniqueKey, job.uniqueScope == .whileActive else { return nil }
                let holder = try await connection.queryIfOpen("""
                    SELECT id FROM surety_jobs WHERE tenant = \(job.tenant.rawValue) AND unique_slot = \(key) AND id <> \(job.id.rawValue) LIMIT 1
                    """, logger: logger).collect { try $0[0].decode(Int64.self) }.first
                return holder.map { JobLifecycle.SkipReason("unique key is held by job \($0)") }
            }
            if !result.changed.isEmpty { try await connection.queryIfOpen(notify, logger: logger) }
            return result
        }
        if !result.changed.isEmpty { signal() }
        return result
    }

    public func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        try await transaction("discard") { [self] connection in
            try await Self.apply(ids, .discard(action), action: action, name: "discard", connection, logger: logger)
        }
    }

    public func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let notify = notifyQuery
        let (result, released) = try await transaction("cancel") { [self] connection in
            let result = try await Self.apply(ids, .cancel(action), action: action, name: "cancel", connection, logger: logger)
            return (result, try await Self.advanceWorkflows(result.changed, at: action.at, connection, notify: notify, logger: logger))
        }
        if released { signal() }
        return result
    }

    /// Runs an operator's `event` on each job in turn, inside the caller's one transaction:
    /// locks and reads the row (`FOR UPDATE`), applies the core's transition (after `refusal`,
    /// the store's own check, such as a requeue's unique key), writes the new row back
    /// (``JobTransitionSQL/operatorWrite``) and an audit row. Operator actions are rare, so exact
    /// agreement with the core is worth more here than saving the read.
    static func apply(
        _ ids: [JobID], _ event: JobEvent, action: OperatorAction, name: String, crashPoint: CrashPoint? = nil,
        _ connection: PostgresConnection, logger: Logger,
        refusal: (JobRecord) async throws -> JobLifecycle.SkipReason? = { _ in nil }
    ) async throws -> BulkResult {
        var result = BulkResult()
        let transition = JobLifecycle.transition(for: event)
        for id in ids {
            let rows = try await connection.queryIfOpen(
                "SELECT \(unescaped: JobRow.columns) FROM surety_jobs WHERE id = \(id.rawValue) FOR UPDATE", logger: logger
            ).collect { try JobRow.decode($0).record }
            guard let job = rows.first else {
                result.skipped.append(.init(id: id, reason: "no such job"))
                continue
            }
            if let skip = try await refusal(job) {
                result.skipped.append(.init(id: id, reason: skip.message))
                continue
            }
            switch transition.apply(to: job) {
            case .success(let next):
                try await connection.queryIfOpen(
                    PostgresQuery(unsafeSQL: JobTransitionSQL.operatorWrite, binds: JobTransitionSQL.operatorWriteBindings(next)), logger: logger
                )
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
    /// - Throws: `SuretyError.Code.invalidArgument` for `public`.
    public func dropSchema() async throws {
        // The schema name is validated (lower-case letters, digits, '_'), so quoting it is enough.
        guard configuration.schema != "public" else {
            throw SuretyError(.invalidArgument, "refusing to drop the public schema")
        }
        try await self.query("drop schema", PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(configuration.schema)\" CASCADE")) { _ in }
    }
}
