import GRDB
import Surety

/// SQLite's statements of the job transitions (``Surety/JobTransition``), one per transition
/// kind, each binding the values of the transition the core computed (``Surety/JobLifecycle``):
/// the SQL decides nothing the core already decided. PostgreSQL keeps the same members under the
/// same names in Sources/SuretyPostgres/SQL/JobTransitionSQL.swift: diff the two files to compare
/// the dialects.
///
/// What stays elsewhere: how a claim picks its jobs (by queue, limited, fair; the store files
/// build the pick and hand it to ``claim(_:)``), cancel requests and audit rows (not job
/// transitions), and the hot statements' chunking (``SQLiteStore``'s finish).
enum JobTransitionSQL {
    // MARK: Claim

    /// The claim's assignments, shared by every claim statement. Parameters: `?1` attempted_at
    /// (the claim's `now`), `?2` attempted_by, `?3` lease_until; a pick's own parameters start at
    /// `?4` (and may use `?1` for `now`). Each row gets its own random positive lease token.
    static let claimAssignments = """
        SET state = 'running', attempt = attempt + 1, attempted_at = ?1, attempted_by = ?2,
            first_attempt_at = coalesce(first_attempt_at, ?1), lease_until = ?3,
            lease_token = max(1, random() & 9223372036854775807)
        """

    /// The columns a claim returns, in the order ``decodeClaimed(_:json:)`` reads them.
    static let claimedColumns = """
        id, type, queue, priority, tenant, payload, attempt, max_attempts, lease_token, lease_until, \
        enqueued_at, run_at, first_attempt_at, tags, correlation, trace_context
        """

    /// A claim statement: ``claimAssignments`` for the rows `pick` selects (its WHERE clause).
    static func claim(_ pick: String) -> String {
        "UPDATE surety_jobs\n\(claimAssignments)\n\(pick)\nRETURNING \(claimedColumns)"
    }

    /// The values of `?1`...`?3` for a claim's transition.
    static func claimValues(_ transition: JobTransition) -> [DatabaseValue] {
        guard let at = transition.attemptedAt, let worker = transition.attemptedBy, case .granted(let until) = transition.lease else {
            preconditionFailure("not a claim's transition")
        }
        return [Timestamp.micros(at).databaseValue, worker.databaseValue, Timestamp.micros(until).databaseValue]
    }

    /// The claimed job of a row of ``claimedColumns``: the store's one claimed-row decoder.
    static func decodeClaimed(_ row: DirectStatement.Columns, json: inout JSONColumns.DecodingCache) -> ClaimedJob {
        let id = JobID(row.int64(0))
        return ClaimedJob(
            id: id,
            type: row.string(1),
            queue: row.string(2),
            priority: row.int(3),
            tenant: TenantID(unchecked: row.string(4)),
            payload: row.string(5),
            attempt: row.int(6),
            maxAttempts: row.int(7),
            lease: Lease(jobID: id, token: row.int64(8)),
            leaseUntil: Timestamp.date(row.int64(9)),
            enqueuedAt: Timestamp.date(row.int64(10)),
            runAt: Timestamp.date(row.int64(11)),
            firstAttemptAt: Timestamp.date(row.int64(12)),
            tags: json.tags(row.stringIfPresent(13)),
            correlation: json.correlation(row.stringIfPresent(14)),
            traceContext: JSONColumns.decodeCorrelation(row.stringIfPresent(15))
        )
    }

    // MARK: Finish (the end of an attempt; a rescue is one with the expiry fence)

    /// One finish's values, in the order of ``finish(rows:)``'s VALUES columns.
    static let finishColumnCount = 12

    /// The general finish of `rows` attempts, one row of ``finishValues(_:_:into:)`` each;
    /// returns the ids it changed. A finish never clears `run_at`, `finished_at`, `dead_reason`
    /// or the last error, so NULL means "unchanged" (`coalesce`).
    static func finish(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: finishColumnCount).joined(separator: ", ") + ")"
        // VALUES columns: 1 id, 2 token, 3 state, 4 run_at, 5 attempt decrement, 6 finished_at,
        // 7 dead_reason, 8-10 error type/message/class, 11 new state holds a whileActive key,
        // 12 only if the lease expired by.
        return """
            UPDATE surety_jobs SET
                state = f.column3,
                run_at = coalesce(f.column4, surety_jobs.run_at),
                attempt = max(0, surety_jobs.attempt - f.column5),
                finished_at = coalesce(f.column6, surety_jobs.finished_at),
                dead_reason = coalesce(f.column7, surety_jobs.dead_reason),
                last_error_type = coalesce(f.column8, surety_jobs.last_error_type),
                last_error_message = coalesce(f.column9, surety_jobs.last_error_message),
                last_error_class = coalesce(f.column10, surety_jobs.last_error_class),
                lease_until = NULL,
                lease_token = NULL,
                unique_slot = CASE WHEN surety_jobs.unique_scope = 'forever' OR f.column11 THEN surety_jobs.unique_key END
            FROM (VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))) AS f
            WHERE surety_jobs.id = f.column1 AND surety_jobs.state = 'running' AND surety_jobs.lease_token = f.column2
              AND (f.column12 IS NULL OR surety_jobs.lease_until IS NULL OR surety_jobs.lease_until <= f.column12)
            RETURNING surety_jobs.id
            """
    }

    /// Appends the values of one row of ``finish(rows:)`` for job `id` and its transition.
    static func finishValues(_ id: JobID, _ transition: JobTransition, into values: inout [DatabaseValue]) {
        values.append(id.rawValue.databaseValue)
        values.append(transition.requirement.leaseToken.sqlValue)
        values.append(transition.state.rawValue.databaseValue)
        values.append(transition.runAt.map(Timestamp.micros).sqlValue)
        values.append((transition.attempt == .givenBack ? 1 : 0).databaseValue)
        values.append(transition.finishedAt.value.map(Timestamp.micros).sqlValue)
        values.append((transition.deadReason.value?.rawValue).sqlValue)
        values.append((transition.lastError?.type).sqlValue)
        values.append((transition.lastError?.message).sqlValue)
        values.append((transition.lastError?.errorClass.rawValue).sqlValue)
        values.append(transition.holdsWhileActiveKey.databaseValue)
        values.append(transition.requirement.leaseExpiredBy.map(Timestamp.micros).sqlValue)
    }

    /// One plain success's values (``Surety/JobTransition/isPlainCompletion``), in the order of
    /// ``finishCompletions(rows:)``'s VALUES columns.
    static let finishCompletionColumnCount = 3

    /// Plain successes, the common finish: the general statement's effect on such a row with
    /// 3 values bound instead of 12 and constants set (about a fifth less SQLite time per job in
    /// the drain, docs/benchmarks.md). Returns the ids it changed.
    static func finishCompletions(rows: Int) -> String {
        // VALUES columns: 1 id, 2 token, 3 finished_at.
        """
        UPDATE surety_jobs SET
            state = 'completed',
            finished_at = f.column3,
            lease_until = NULL,
            lease_token = NULL,
            unique_slot = CASE WHEN surety_jobs.unique_scope = 'forever' THEN surety_jobs.unique_key END
        FROM (VALUES \(Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", "))) AS f
        WHERE surety_jobs.id = f.column1 AND surety_jobs.state = 'running' AND surety_jobs.lease_token = f.column2
        RETURNING surety_jobs.id
        """
    }

    /// Appends the values of one row of ``finishCompletions(rows:)``.
    static func finishCompletionValues(_ id: JobID, _ transition: JobTransition, into values: inout [DatabaseValue]) {
        values.append(id.rawValue.databaseValue)
        values.append(transition.requirement.leaseToken.sqlValue)
        values.append(transition.finishedAt.value.map(Timestamp.micros).sqlValue)
    }

    /// One history row (every end of an attempt but a success).
    static let appendHistory = """
        INSERT INTO surety_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error_type, error_message, error_class)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func historyValues(_ finish: AttemptFinish) -> [DatabaseValue] {
        [
            finish.lease.jobID.rawValue.databaseValue, finish.attempt.databaseValue, finish.worker.databaseValue,
            Timestamp.micros(finish.startedAt).databaseValue, Timestamp.micros(finish.endedAt).databaseValue,
            finish.outcome.rawValue.databaseValue, (finish.error?.type).sqlValue, (finish.error?.message).sqlValue,
            (finish.error?.errorClass.rawValue).sqlValue,
        ]
    }

    // MARK: Rescue

    /// The running jobs whose lease expired by `?1`, oldest lease first, at most `?2` (each then
    /// finished as `lost` with the expiry fence). Columns: ``JobRow/columns``.
    static let expiredLeases = """
        SELECT \(JobRow.columns) FROM surety_jobs INDEXED BY surety_jobs_leases
        WHERE state = 'running' AND lease_until <= ?
        ORDER BY lease_until, id LIMIT ?
        """

    // MARK: Cancel on request

    /// A pending cancel request after the attempt's finish: a job that would run again becomes
    /// cancelled. Parameters: state, finished_at, note, id.
    static let cancelOnRequest = """
        UPDATE surety_jobs SET state = ?, finished_at = ?, note = ?,
            unique_slot = CASE WHEN unique_scope = 'forever' THEN unique_key END
        WHERE id = ? AND \(WaitingStates.condition)
        """

    static func cancelOnRequestValues(_ id: JobID, _ transition: JobTransition) -> StatementArguments {
        [transition.state.rawValue, transition.finishedAt.value.map(Timestamp.micros), transition.note.value, id.rawValue]
    }

    // MARK: Operator actions (requeue, discard, cancel)

    /// An operator's transition written back: the row read in the same transaction with
    /// ``Surety/JobTransition/apply(to:leaseToken:)`` applied. Operator actions are rare, so
    /// exact agreement with the core is worth more here than saving the read. Parameters: the
    /// new record's columns, then the id.
    static let operatorWrite = """
        UPDATE surety_jobs SET
            state = ?, run_at = ?, attempt = ?, first_attempt_at = ?, attempted_at = ?, attempted_by = ?,
            lease_until = ?, lease_token = NULL, finished_at = ?, dead_reason = ?, note = ?, unique_slot = ?
        WHERE id = ?
        """

    static func operatorWriteValues(_ next: JobRecord) -> StatementArguments {
        [
            next.state.rawValue, Timestamp.micros(next.runAt), next.attempt, next.firstAttemptAt.map(Timestamp.micros),
            next.attemptedAt.map(Timestamp.micros), next.attemptedBy, next.leaseUntil.map(Timestamp.micros),
            next.finishedAt.map(Timestamp.micros), next.deadReason?.rawValue, next.note,
            JobLifecycle.holdsUniqueKey(next) ? next.uniqueKey : nil, next.id.rawValue,
        ]
    }
}
