import Foundation
import GRDB
import Surety

extension SQLiteStore: CancelRequestStore {
    /// One write transaction: waiting jobs become `cancelled` (audit `cancel`); running jobs get a
    /// row in `surety_cancel_requests` (audit `cancel_request`); finished jobs are skipped.
    public func requestCancellation(_ ids: [JobID], action: OperatorAction) async throws -> CancellationResult {
        let (result, wake) = try await write("requestCancellation") { db in
            let result = try Self.requestCancellation(ids, action: action, db)
            return (result, try Self.advanceWorkflows(result.cancelled, at: action.at, db))
        }
        if wake { signal() }
        return result
    }

    /// The body of ``requestCancellation(_:action:)`` inside the caller's transaction.
    static func requestCancellation(_ ids: [JobID], action: OperatorAction, _ db: Database) throws -> CancellationResult {
        var result = CancellationResult()
        for id in ids {
            guard let job = try fetchJob(id, db)?.record else {
                result.skipped.append(.init(id: id, reason: "no such job"))
                continue
            }
            if job.state == .running {
                try db.cachedStatement(sql: requestSQL).execute(arguments: [
                    id.rawValue, action.actor, action.reason, Timestamp.micros(action.at),
                ])
                try db.cachedStatement(sql: auditSQL).execute(arguments: [
                    id.rawValue, "cancel_request", action.actor, action.reason, Timestamp.micros(action.at),
                ])
                result.requested.append(id)
                continue
            }
            let applied = try apply([id], .cancel(action), action: action, name: "cancel", db)
            result.cancelled += applied.changed
            result.skipped += applied.skipped
        }
        return result
    }

    public func heartbeatReportingCancellations(_ leases: [Lease], until: Date) async throws -> HeartbeatReport {
        guard !leases.isEmpty else { return HeartbeatReport() }
        let until = Timestamp.micros(until)
        return try await write("heartbeat") { db in
            let statement = try db.cachedStatement(sql: Self.heartbeatSQL)
            var report = HeartbeatReport()
            var held: [Lease] = []
            for lease in leases {
                try statement.execute(arguments: StatementArguments([
                    until.databaseValue, lease.jobID.rawValue.databaseValue, lease.token.databaseValue,
                ]))
                if db.changesCount == 0 { report.lost.append(lease) } else { held.append(lease) }
            }
            guard !held.isEmpty, try Self.hasCancelRequests(db) else { return report }
            let lookup = try db.cachedStatement(sql: "SELECT actor, reason, at FROM surety_cancel_requests WHERE job_id = ?")
            for lease in held {
                guard let row = try Row.fetchOne(lookup, arguments: [lease.jobID.rawValue]) else { continue }
                report.cancelRequested.append(CancelRequest(
                    lease: lease, actor: try row.decode(String.self, atIndex: 0), reason: try row.decode(String.self, atIndex: 1),
                    at: Timestamp.date(try row.decode(Int64.self, atIndex: 2))
                ))
            }
            return report
        }
    }

    static let requestSQL = """
        INSERT INTO surety_cancel_requests (job_id, actor, reason, at) VALUES (?, ?, ?, ?)
        ON CONFLICT (job_id) DO UPDATE SET actor = excluded.actor, reason = excluded.reason, at = excluded.at
        """

    /// Whether any cancel request is pending: one page read, so the hot path pays next to nothing
    /// while nobody cancels.
    static func hasCancelRequests(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM surety_cancel_requests)")) ?? false
    }

    /// After finishes were applied in the same transaction: drops the cancel requests of those
    /// jobs, and cancels the ones that would run again (see ``Surety/CancelRequestStore``).
    static func applyCancelRequests(_ finishes: [AttemptFinish], _ results: [FenceResult], _ db: Database) throws {
        guard try hasCancelRequests(db) else { return }
        let take = try db.cachedStatement(sql: "DELETE FROM surety_cancel_requests WHERE job_id = ? RETURNING actor, reason")
        let cancel = try db.cachedStatement(sql: JobTransitionSQL.cancelOnRequest)
        for (finish, result) in zip(finishes, results) where result == .applied {
            guard let row = try Row.fetchOne(take, arguments: [finish.lease.jobID.rawValue]) else { continue }
            let transition = JobLifecycle.transition(for: .cancelOnRequest(
                actor: try row.decode(String.self, atIndex: 0), reason: try row.decode(String.self, atIndex: 1), at: finish.endedAt
            ))
            try cancel.execute(arguments: JobTransitionSQL.cancelOnRequestValues(finish.lease.jobID, transition))
        }
    }
}
