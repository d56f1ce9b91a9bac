import Foundation
import PostgresNIO
import Surety

/// PostgreSQL's statements of the job transitions (``Surety/JobTransition``), one per transition
/// kind, each binding the values of the transition the core computed (``Surety/JobLifecycle``):
/// the SQL decides nothing the core already decided. SQLite keeps the same members under the
/// same names in Sources/SuretySQLite/SQL/JobTransitionSQL.swift: diff the two files to compare
/// the dialects.
///
/// What stays elsewhere: how a claim picks its jobs (by queue, limited, fair; the store files
/// build the pick and hand it to ``claim(_:)``), cancel requests and audit rows (not job
/// transitions), and the prepared statements' plumbing (`Statements/`).
enum JobTransitionSQL {
    // MARK: Claim

    /// The claim's assignments, shared by every claim statement. Parameters: `$1` attempted_at
    /// (the claim's `now`), `$2` attempted_by, `$3` the lease and `$4` whether it is on the
    /// database clock (``LeaseTimes``); a pick's own parameters start at `$5` (and may use `$1`
    /// for `now`). Each row gets its own random positive lease token.
    static let claimAssignments = """
        SET state = 'running', attempt = j.attempt + 1, attempted_at = $1, attempted_by = $2,
            first_attempt_at = coalesce(j.first_attempt_at, $1),
            lease_until = $3 + $4 * \(LeaseTimes.serverNowSQL),
            lease_token = 1 + (random() * 9.0e18)::int8
        """

    /// The columns a claim returns, in the order ``decodeClaimed(_:json:)`` reads them.
    static let claimedColumns = """
        j.id, j.type, j.queue, j.priority, j.tenant, j.payload, j.attempt, j.max_attempts, j.lease_token, \
        j.lease_until, j.enqueued_at, j.run_at, j.first_attempt_at, j.tags::text, j.correlation::text, j.trace_context
        """

    /// A claim statement: ``claimAssignments`` for the rows `pick` selects (its FROM and WHERE
    /// clauses, on `surety_jobs AS j`).
    static func claim(_ pick: String) -> String {
        "UPDATE surety_jobs AS j\n\(claimAssignments)\n\(pick)\nRETURNING \(claimedColumns)"
    }

    /// The values of `$1`...`$4` for a claim's transition, with room for `extra` more.
    static func claimBindings(_ transition: JobTransition, leaseTimes: LeaseTimes, extra: Int = 0) -> PostgresBindings {
        guard let at = transition.attemptedAt, let worker = transition.attemptedBy, case .granted(let until) = transition.lease else {
            preconditionFailure("not a claim's transition")
        }
        var bindings = PostgresBindings(capacity: 4 + extra)
        bindings.append(Timestamp.micros(at))
        bindings.append(worker)
        bindings.append(leaseTimes.lease(now: at, until: until))
        bindings.append(leaseTimes.onDatabaseClock)
        return bindings
    }

    /// The claimed job of a row of ``claimedColumns``: the store's one claimed-row decoder.
    static func decodeClaimed(_ row: PostgresRandomAccessRow, json: inout JSONColumns.DecodingCache) throws -> ClaimedJob {
        let id = JobID(try row[0].decode(Int64.self))
        return ClaimedJob(
            id: id,
            type: try row[1].decode(String.self),
            queue: try row[2].decode(String.self),
            priority: try row[3].decode(Int.self),
            tenant: TenantID(unchecked: try row[4].decode(String.self)),
            payload: try row[5].decode(String.self),
            attempt: try row[6].decode(Int.self),
            maxAttempts: try row[7].decode(Int.self),
            lease: Lease(jobID: id, token: try row[8].decode(Int64.self)),
            leaseUntil: Timestamp.date(try row[9].decode(Int64.self)),
            enqueuedAt: Timestamp.date(try row[10].decode(Int64.self)),
            runAt: Timestamp.date(try row[11].decode(Int64.self)),
            firstAttemptAt: Timestamp.date(try row[12].decode(Int64.self)),
            tags: json.tags(try row[13].decode(String?.self)),
            correlation: json.correlation(try row[14].decode(String?.self)),
            traceContext: JSONColumns.decodeCorrelation(try row[15].decode(String?.self))
        )
    }

    // MARK: Finish (the end of an attempt; a rescue is one with the expiry fence)

    /// The general finish of a batch (``finishBindings(_:_:)``: one array per column, `$14` the
    /// stand-in for NULL); returns the ids it changed. A finish never clears `run_at`,
    /// `finished_at`, `dead_reason` or the last error, so the stand-in means "unchanged". The
    /// rescuer's fence is judged by the server's time on the database clock, else by the
    /// rescuer's `expired_by`.
    static func finish(onDatabaseClock: Bool) -> String {
        onDatabaseClock ? finishOnDatabaseClock : finishOnCallerClock
    }

    private static let finishOnDatabaseClock = finishSQL(expiryCutoff: LeaseTimes.serverNowSQL)
    private static let finishOnCallerClock = finishSQL(expiryCutoff: "f.expired_by")

    private static func finishSQL(expiryCutoff: String) -> String {
        """
        UPDATE surety_jobs AS j SET
            state = f.state,
            run_at = CASE WHEN f.run_at = $14 THEN j.run_at ELSE f.run_at END,
            attempt = greatest(0, j.attempt - f.decrement),
            finished_at = CASE WHEN f.finished_at = $14 THEN j.finished_at ELSE f.finished_at END,
            dead_reason = coalesce(nullif(f.dead_reason, ''), j.dead_reason),
            last_error_type = CASE WHEN f.has_error THEN f.error_type ELSE j.last_error_type END,
            last_error_message = CASE WHEN f.has_error THEN f.error_message ELSE j.last_error_message END,
            last_error_class = CASE WHEN f.has_error THEN f.error_class ELSE j.last_error_class END,
            lease_until = NULL,
            lease_token = NULL,
            unique_slot = CASE WHEN j.unique_scope = 'forever' OR f.active THEN j.unique_key END
        FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::text[], $8::bool[],
                    $9::text[], $10::text[], $11::text[], $12::bool[], $13::int8[])
             AS f(id, token, state, run_at, decrement, finished_at, dead_reason, has_error, error_type,
                  error_message, error_class, active, expired_by)
        WHERE j.id = f.id AND j.state = 'running' AND j.lease_token = f.token
          AND (f.expired_by = $14 OR j.lease_until IS NULL OR j.lease_until <= \(expiryCutoff))
        RETURNING j.id
        """
    }

    /// The values of ``finish(onDatabaseClock:)`` for jobs `ids` and their transitions.
    static func finishBindings(_ ids: [JobID], _ transitions: [JobTransition]) -> PostgresBindings {
        var id: [Int64] = [], token: [Int64] = [], state: [String] = [], runAt: [Int64] = [], decrement: [Int64] = []
        var finishedAt: [Int64] = [], deadReason: [String] = [], hasError: [Bool] = [], errorType: [String] = []
        var errorMessage: [String] = [], errorClass: [String] = [], active: [Bool] = [], expiredBy: [Int64] = []
        for (job, transition) in zip(ids, transitions) {
            id.append(job.rawValue)
            token.append(transition.requirement.leaseToken ?? Timestamp.none)
            state.append(transition.state.rawValue)
            runAt.append(Timestamp.micros(transition.runAt))
            decrement.append(transition.attempt == .givenBack ? 1 : 0)
            finishedAt.append(Timestamp.micros(transition.finishedAt.value))
            deadReason.append(transition.deadReason.value?.rawValue ?? "")
            hasError.append(transition.lastError != nil)
            errorType.append(transition.lastError?.type ?? "")
            errorMessage.append(transition.lastError?.message ?? "")
            errorClass.append(transition.lastError?.errorClass.rawValue ?? "")
            active.append(transition.holdsWhileActiveKey)
            expiredBy.append(Timestamp.micros(transition.requirement.leaseExpiredBy))
        }
        var bindings = PostgresBindings(capacity: 14)
        bindings.append(id)
        bindings.append(token)
        bindings.append(state)
        bindings.append(runAt)
        bindings.append(decrement)
        bindings.append(finishedAt)
        bindings.append(deadReason)
        bindings.append(hasError)
        bindings.append(errorType)
        bindings.append(errorMessage)
        bindings.append(errorClass)
        bindings.append(active)
        bindings.append(expiredBy)
        bindings.append(Timestamp.none)
        return bindings
    }

    /// Plain successes (``Surety/JobTransition/isPlainCompletion``), the common finish, without
    /// `BEGIN` and `COMMIT`: the general statement's row change for such finishes, plus the
    /// removal of cancel requests left for the finished jobs (a completed job is never cancelled;
    /// the request is only dropped); no history row and no NOTIFY (a success writes neither).
    /// Parameters: `$1` ids, `$2` tokens, `$3` finished_at, `$4` the state `'running'`.
    ///
    /// Advancing workflows needs the general path's transaction. So the statement first checks
    /// whether any of the jobs is an active workflow step; if one is, it changes nothing and
    /// returns the marker row `-1`, and the caller takes the general path.
    ///
    /// The plan must hold as a generic plan (``FinishCompletions`` is prepared; made without the
    /// values after a few runs, with `unnest` estimated at 10 rows): it walks the batch and looks
    /// each job up by primary key. The state is bound (`$4`) rather than written, so the planner
    /// cannot pick the partial index of running jobs, which statistics taken with no job running
    /// make look empty (with it, and with `id = ANY($1)`, EXPLAIN showed the batch rescanned for
    /// every job: 20 ms per 256 finishes instead of 3).
    static let finishCompletions = """
        WITH blocked AS (
            SELECT EXISTS (SELECT 1 FROM surety_workflow_steps WHERE job_id = ANY($1::int8[]) AND state = 'active') AS b
        ), updated AS (
            UPDATE surety_jobs AS j SET
                state = 'completed',
                finished_at = f.finished_at,
                lease_until = NULL,
                lease_token = NULL,
                unique_slot = CASE WHEN j.unique_scope = 'forever' THEN j.unique_key END
            FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS f(id, token, finished_at)
            WHERE NOT (SELECT b FROM blocked) AND j.id = f.id AND j.state = $4 AND j.lease_token = f.token
            RETURNING j.id
        ), dropped AS (
            DELETE FROM surety_cancel_requests WHERE job_id IN (SELECT id FROM updated)
        )
        SELECT id FROM updated
        UNION ALL
        SELECT -1 FROM blocked WHERE b
        """

    /// History rows (every end of an attempt but a success), in batch order.
    static let appendHistory = """
        INSERT INTO surety_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error_type, error_message, error_class)
        SELECT h.job_id, h.attempt, h.worker, h.started_at, h.ended_at, h.outcome,
               CASE WHEN h.has_error THEN h.error_type END, CASE WHEN h.has_error THEN h.error_message END,
               CASE WHEN h.has_error THEN h.error_class END
        FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::bool[], $8::text[], $9::text[], $10::text[])
             WITH ORDINALITY AS h(job_id, attempt, worker, started_at, ended_at, outcome, has_error, error_type,
                                  error_message, error_class, ord)
        ORDER BY h.ord
        """

    static func historyBindings(_ finishes: [AttemptFinish]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(finishes.map(\.lease.jobID.rawValue))
        bindings.append(finishes.map { Int64($0.attempt) })
        bindings.append(finishes.map(\.worker))
        bindings.append(finishes.map { Timestamp.micros($0.startedAt) })
        bindings.append(finishes.map { Timestamp.micros($0.endedAt) })
        bindings.append(finishes.map(\.outcome.rawValue))
        bindings.append(finishes.map { $0.error != nil })
        bindings.append(finishes.map { $0.error?.type ?? "" })
        bindings.append(finishes.map { $0.error?.message ?? "" })
        bindings.append(finishes.map { $0.error?.errorClass.rawValue ?? "" })
        return bindings
    }

    // MARK: Rescue

    /// The running jobs whose lease expired by `expiryCutoff` (``LeaseTimes/expiryCutoffSQL(now:)``),
    /// oldest lease first, at most `$1` (each then finished as `lost` with the expiry fence).
    /// Columns: ``JobRow/columns``.
    static func expiredLeases(expiryCutoff: String) -> String {
        """
        SELECT \(JobRow.columns) FROM surety_jobs
        WHERE state = 'running' AND lease_until <= \(expiryCutoff)
        ORDER BY lease_until, id LIMIT $1
        """
    }

    // MARK: Cancel on request

    /// Pending cancel requests after the attempts' finishes: the jobs that would run again
    /// become cancelled. Parameters: arrays of ids, states, finished_at, notes and whether the
    /// new state holds a whileActive key.
    static let cancelOnRequest = """
        UPDATE surety_jobs AS j SET state = c.state, finished_at = c.finished_at, note = c.note,
            unique_slot = CASE WHEN j.unique_scope = 'forever' OR c.active THEN j.unique_key END
        FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::bool[]) AS c(id, state, finished_at, note, active)
        WHERE j.id = c.id AND \(WaitingStates.condition(of: "j"))
        """

    static func cancelOnRequestBindings(_ ids: [JobID], _ transitions: [JobTransition]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(ids.map(\.rawValue))
        bindings.append(transitions.map(\.state.rawValue))
        bindings.append(transitions.map { Timestamp.micros($0.finishedAt.value) })
        bindings.append(transitions.map { $0.note.value ?? "" })
        bindings.append(transitions.map(\.holdsWhileActiveKey))
        return bindings
    }

    // MARK: Operator actions (requeue, discard, cancel)

    /// An operator's transition written back: the row read `FOR UPDATE` in the same transaction
    /// with ``Surety/JobTransition/apply(to:leaseToken:)`` applied. Operator actions are rare, so
    /// exact agreement with the core is worth more here than saving the read. Parameters: the
    /// new record's columns, then the id (`$12`).
    static let operatorWrite = """
        UPDATE surety_jobs SET
            state = $1, run_at = $2, attempt = $3, first_attempt_at = $4, attempted_at = $5, attempted_by = $6,
            lease_until = $7, lease_token = NULL, finished_at = $8, dead_reason = $9, note = $10, unique_slot = $11
        WHERE id = $12
        """

    static func operatorWriteBindings(_ next: JobRecord) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(next.state.rawValue)
        bindings.append(Timestamp.micros(next.runAt))
        bindings.append(Int64(next.attempt))
        bindings.append(next.firstAttemptAt.map { Timestamp.micros($0) })
        bindings.append(next.attemptedAt.map { Timestamp.micros($0) })
        bindings.append(next.attemptedBy)
        bindings.append(next.leaseUntil.map { Timestamp.micros($0) })
        bindings.append(next.finishedAt.map { Timestamp.micros($0) })
        bindings.append(next.deadReason?.rawValue)
        bindings.append(next.note)
        bindings.append(JobLifecycle.holdsUniqueKey(next) ? next.uniqueKey : nil)
        bindings.append(next.id.rawValue)
        return bindings
    }
}
