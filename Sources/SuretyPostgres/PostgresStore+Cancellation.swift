import Foundation
import PostgresNIO
import Surety

extension PostgresStore: CancelRequestStore {
    /// One transaction: each job is locked (`FOR UPDATE`); waiting jobs become `cancelled`
    /// (audit `cancel`); running jobs get a row in `surety_cancel_requests` (audit
    /// `cancel_request`); finished jobs are skipped.
    public func requestCancellation(_ ids: [JobID], action: OperatorAction) async throws -> CancellationResult {
        let notify = notifyQuery
        let (result, released) = try await transaction("requestCancellation") { [self] connection in
            let result = try await Self.requestCancellation(ids, action: action, connection, logger: logger)
            return (result, try await Self.advanceWorkflows(result.cancelled, at: action.at, connection, notify: notify, logger: logger))
        }
        if released { signal() }
        return result
    }

    /// The body of ``requestCancellation(_:action:)`` inside the caller's transaction.
    static func requestCancellation(_ ids: [JobID], action: OperatorAction, _ connection: PostgresConnection, logger: Logger) async throws -> CancellationResult {
        var result = CancellationResult()
        for id in ids {
            let states = try await connection.queryIfOpen(
                "SELECT state FROM surety_jobs WHERE id = \(id.rawValue) FOR UPDATE", logger: logger
            ).collect { try $0[0].decode(String.self) }
            if states.first == JobState.running.rawValue {
                let at = Timestamp.micros(action.at)
                try await connection.queryIfOpen("""
                    INSERT INTO surety_cancel_requests (job_id, actor, reason, at)
                    VALUES (\(id.rawValue), \(action.actor), \(action.reason), \(at))
                    ON CONFLICT (job_id) DO UPDATE SET actor = excluded.actor, reason = excluded.reason, at = excluded.at
                    """, logger: logger)
                try await connection.queryIfOpen("""
                    INSERT INTO surety_audit (job_id, action, actor, reason, at)
                    VALUES (\(id.rawValue), 'cancel_request', \(action.actor), \(action.reason), \(at))
                    """, logger: logger)
                result.requested.append(id)
                continue
            }
            let applied = try await apply([id], .cancel(action), action: action, name: "cancel", connection, logger: logger)
            result.cancelled += applied.changed
            result.skipped += applied.skipped
        }
        return result
    }

    /// One statement: the heartbeat's UPDATE, joined with the pending cancel requests.
    public func heartbeatReportingCancellations(_ leases: [Lease], until: Date) async throws -> HeartbeatReport {
        try await heartbeatReportingCancellations(leases, now: Date(), until: until)
    }

    /// On the database clock the leases end `until - now` after the server's time.
    public func heartbeatReportingCancellations(_ leases: [Lease], now: Date, until: Date) async throws -> HeartbeatReport {
        guard !leases.isEmpty else { return HeartbeatReport() }
        let ids = leases.map(\.jobID.rawValue)
        let tokens = leases.map(\.token)
        let query: PostgresQuery = """
            WITH held AS (
                UPDATE surety_jobs AS j SET lease_until = \(leaseTimes.lease(now: now, until: until)) + \(leaseTimes.onDatabaseClock) * \(unescaped: LeaseTimes.serverNowSQL)
                FROM unnest(\(ids)::int8[], \(tokens)::int8[]) AS h(id, token)
                WHERE j.id = h.id AND j.state = 'running' AND j.lease_token = h.token
                RETURNING j.id, j.lease_token)
            SELECT held.id, held.lease_token, r.actor, r.reason, r.at
            FROM held LEFT JOIN surety_cancel_requests AS r ON r.job_id = held.id
            """
        let rows = try await self.query("heartbeat", query) { rows in
            try await rows.collect { row -> (Lease, CancelRequest?) in
                let lease = Lease(jobID: JobID(try row[0].decode(Int64.self)), token: try row[1].decode(Int64.self))
                guard let actor = try row[2].decode(String?.self) else { return (lease, nil) }
                return (lease, CancelRequest(
                    lease: lease, actor: actor, reason: try row[3].decode(String.self),
                    at: Timestamp.date(try row[4].decode(Int64.self))
                ))
            }
        }
        let kept = Set(rows.map(\.0))
        return HeartbeatReport(
            lost: leases.filter { !kept.contains($0) },
            cancelRequested: rows.compactMap(\.1).sorted { $0.lease.jobID < $1.lease.jobID }
        )
    }

    /// After finishes were applied in the same transaction: drops the cancel requests of those
    /// jobs, and cancels the ones that would run again (see ``Surety/CancelRequestStore``).
    /// On an empty request table it costs one statement (one index probe per job); the jobs
    /// whose request it took get the core's cancel-on-request transition
    /// (``JobTransitionSQL/cancelOnRequest``) in a second one.
    static func applyCancelRequests(_ finishes: [AttemptFinish], applied: [Bool], _ connection: PostgresConnection, logger: Logger) async throws {
        let done = finishes.indices.filter { applied[$0] }
        guard !done.isEmpty else { return }
        let ids = done.map { finishes[$0].lease.jobID.rawValue }
        let taken = try await connection.queryIfOpen(
            "DELETE FROM surety_cancel_requests WHERE job_id = ANY(\(ids)::int8[]) RETURNING job_id, actor, reason", logger: logger
        ).collect { (JobID(try $0[0].decode(Int64.self)), try $0[1].decode(String.self), try $0[2].decode(String.self)) }
        guard !taken.isEmpty else { return }
        let ended = Dictionary(done.map { (finishes[$0].lease.jobID, finishes[$0].endedAt) }, uniquingKeysWith: { $1 })
        let transitions = taken.map { id, actor, reason in
            JobLifecycle.transition(for: .cancelOnRequest(actor: actor, reason: reason, at: ended[id] ?? Date()))
        }
        try await connection.queryIfOpen(
            PostgresQuery(unsafeSQL: JobTransitionSQL.cancelOnRequest, binds: JobTransitionSQL.cancelOnRequestBindings(taken.map(\.0), transitions)),
            logger: logger
        )
    }
}
