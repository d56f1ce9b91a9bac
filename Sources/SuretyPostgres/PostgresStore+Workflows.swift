import Foundation
import PostgresNIO
import Surety

extension PostgresStore: WorkflowStore {
    public func enqueueWorkflows(_ workflows: [NewWorkflow]) async throws -> [EnqueuedWorkflow] {
        guard !workflows.isEmpty else { return [] }
        for workflow in workflows { try PostgresErrors.refuseUnreleasable(workflow) }
        let notify = notifyQuery
        // Serialises enqueues of one key (the partial unique index would refuse the second insert
        // with an error instead). Taken up front, in one order, so two batches naming the same
        // keys in different orders cannot deadlock.
        let lockKeys = Set(workflows.compactMap { workflow in workflow.uniqueKey.map { workflow.tenant.rawValue + ":" + $0 } }).sorted()
        let result: ([EnqueuedWorkflow], Bool) = try await transaction("enqueueWorkflows") { [self] connection in
            for key in lockKeys {
                try await connection.queryIfOpen("SELECT pg_advisory_xact_lock(hashtext(\(key)))", logger: logger)
            }
            var results: [EnqueuedWorkflow] = []
            var released = false
            for workflow in workflows {
                let (enqueued, wake) = try await Self.insertWorkflow(workflow, connection, notify: notify, logger: logger)
                results.append(enqueued)
                if wake { released = true }
            }
            return (results, released)
        }
        if result.1 { signal() }
        return result.0
    }

    /// One workflow of a batch, inside the batch's transaction (its key's advisory lock held):
    /// the holder of its unique key (a workflow inserted earlier in the same transaction
    /// included), or the new workflow, its steps and its root steps' jobs. Returns whether jobs
    /// were released.
    static func insertWorkflow(_ workflow: NewWorkflow, _ connection: PostgresConnection, notify: PostgresQuery, logger: Logger) async throws -> (EnqueuedWorkflow, Bool) {
        if let key = workflow.uniqueKey {
            let holder = try await connection.queryIfOpen("""
                SELECT id FROM surety_workflows WHERE tenant = \(workflow.tenant.rawValue) AND unique_key = \(key) AND state = 'running'
                """, logger: logger).collect { try $0[0].decode(Int64.self) }.first
            if let holder { return (EnqueuedWorkflow(id: WorkflowID(holder), inserted: false), false) }
        }
        let created = Timestamp.micros(workflow.createdAt)
        guard let raw = try await connection.queryIfOpen("""
            INSERT INTO surety_workflows (name, tenant, state, unique_key, created_at)
            VALUES (\(workflow.name), \(workflow.tenant.rawValue), 'running', \(workflow.uniqueKey), \(created))
            RETURNING id
            """, logger: logger).collect({ try $0[0].decode(Int64.self) }).first else {
            throw SuretyError(.storeCorrupt, "inserting a workflow returned no id")
        }
        let id = WorkflowID(raw)
        let names = workflow.steps.map(\.name)
        let positions = Array(0..<workflow.steps.count)
        let types = workflow.steps.map(\.template.type)
        let queues = workflow.steps.map(\.template.queue)
        let parents = workflow.steps.map { WorkflowRowCoding.encodeParents($0.parents) }
        let compensation = workflow.steps.map(\.isCompensation)
        let templates = workflow.steps.map { $0.template.encoded() }
        try await connection.queryIfOpen("""
            INSERT INTO surety_workflow_steps (workflow_id, position, name, job_type, queue, parents, compensation, state, template)
            SELECT \(raw), s.position, s.name, s.job_type, s.queue, s.parents, s.compensation, 'waiting', s.template
            FROM unnest(\(positions)::int8[], \(names)::text[], \(types)::text[], \(queues)::text[], \(parents)::text[],
                        \(compensation)::bool[], \(templates)::text[])
                 AS s(position, name, job_type, queue, parents, compensation, template)
            """, logger: logger)
        let changes = WorkflowTransition.start(workflow.record(id: id), at: workflow.createdAt)
        try await write(changes, action: nil, connection, notify: notify, logger: logger)
        return (EnqueuedWorkflow(id: id, inserted: true), !changes.released.isEmpty)
    }

    public func workflow(_ id: WorkflowID) async throws -> WorkflowRecord? {
        try await transaction("workflow") { [self] connection in try await Self.fetchWorkflow(id, connection, logger: logger) }
    }

    public func workflows(_ filter: WorkflowFilter) async throws -> [WorkflowRecord] {
        let states = filter.states.map(\.rawValue)
        let tenants = filter.tenants.map(\.rawValue)
        let name = filter.name ?? ""
        let limit = max(0, filter.limit)
        let before: Int64? = filter.beforeID?.rawValue
        return try await transaction("workflows") { [self] connection in
            let ids = try await connection.queryIfOpen("""
                SELECT id FROM surety_workflows
                WHERE (cardinality(\(states)::text[]) = 0 OR state = ANY(\(states)::text[]))
                  AND (cardinality(\(tenants)::text[]) = 0 OR tenant = ANY(\(tenants)::text[]))
                  AND (\(name) = '' OR name = \(name))
                  AND (\(before)::int8 IS NULL OR id < \(before)::int8)
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger).collect { try $0[0].decode(Int64.self) }
            var records: [WorkflowRecord] = []
            for id in ids {
                if let record = try await Self.fetchWorkflow(WorkflowID(id), connection, logger: logger) { records.append(record) }
            }
            return records
        }
    }

    public func workflowStep(ofJob id: JobID) async throws -> (workflow: WorkflowRecord, step: String)? {
        let found: WorkflowStepLookup? = try await transaction("workflowStep") { [self] connection in
            guard let row = try await connection.queryIfOpen(
                "SELECT workflow_id, name FROM surety_workflow_steps WHERE job_id = \(id.rawValue)", logger: logger
            ).collect({ (try $0[0].decode(Int64.self), try $0[1].decode(String.self)) }).first,
                let workflow = try await Self.fetchWorkflow(WorkflowID(row.0), connection, logger: logger) else { return nil }
            return WorkflowStepLookup(workflow: workflow, step: row.1)
        }
        return found.map { ($0.workflow, $0.step) }
    }

    /// Fenced like every ledger write: the job row is locked in share mode while the lease is
    /// checked, so a finish or rescue committing at the same time cannot let a just-stale attempt
    /// write the result; in a transaction, so the result is reported written only once committed.
    public func setStepResult(_ result: String, lease: Lease) async throws -> FenceResult {
        try await transaction("setStepResult") { [self] connection in
            guard try await Self.holdsLease(lease, connection, logger: logger) else { return .leaseLost }
            let rows = try await connection.queryIfOpen("""
                UPDATE surety_workflow_steps SET result = \(result) WHERE job_id = \(lease.jobID.rawValue) RETURNING 1
                """, logger: logger).collect { try $0[0].decode(Int32.self) }
            return rows.isEmpty ? .leaseLost : .applied
        }
    }

    /// Whether `job` is a workflow step's job (a read, inside the caller's transaction).
    static func isWorkflowStep(_ job: JobID, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !connection.queryIfOpen("SELECT 1 FROM surety_workflow_steps WHERE job_id = \(job.rawValue)", logger: logger)
            .collect { try $0[0].decode(Int32.self) }.isEmpty
    }

    /// Writes the result of a step whose job the caller's transaction just completed, fenced by
    /// that completion (the transaction cannot commit if it did not apply). After the finish, so
    /// the locks are taken in the usual order: the job, the workflow, its step rows.
    static func storeStepResult(_ result: String, ofCompleted job: JobID, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.queryIfOpen("UPDATE surety_workflow_steps SET result = \(result) WHERE job_id = \(job.rawValue)", logger: logger)
    }

    public func cancelWorkflow(_ id: WorkflowID, action: OperatorAction) async throws -> WorkflowCancellation? {
        let notify = notifyQuery
        return try await transaction("cancelWorkflow") { [self] connection in
            // Lock the active steps' jobs before the workflow row, in id order: a finish locks its
            // jobs first and the workflow second, so taking them in the same order avoids a
            // deadlock with a step that is finishing right now.
            try await connection.queryIfOpen("""
                SELECT j.id FROM surety_jobs AS j JOIN surety_workflow_steps AS s ON s.job_id = j.id
                WHERE s.workflow_id = \(id.rawValue) AND s.state = 'active' ORDER BY j.id FOR UPDATE OF j
                """, logger: logger)
            guard try await Self.lockWorkflow(id, connection, logger: logger),
                  let workflow = try await Self.fetchWorkflow(id, connection, logger: logger) else { return nil }
            switch WorkflowTransition.cancel(workflow, action: action) {
            case .failure(let skip):
                return WorkflowCancellation(workflow: id, cancelled: false, skippedReason: skip.message)
            case .success(let changes):
                let jobs = try await Self.write(changes, action: action, connection, notify: notify, logger: logger)
                _ = try await Self.advanceWorkflows(jobs.cancelled, at: changes.time, connection, notify: notify, logger: logger)
                return WorkflowCancellation(workflow: id, cancelled: true, jobs: jobs)
            }
        }
    }

    // MARK: Advancing, inside the transaction that ended the jobs

    /// After jobs may have ended (finish, cancel), in the same transaction: advances the
    /// workflows whose active steps they are. Each workflow's row is locked (`FOR UPDATE`, in id
    /// order) before its steps are read, so two transactions completing two parents of one step
    /// are serialised and the second sees the first's commit: the step is released exactly once.
    /// One statement per call when no step job ended. Returns whether step jobs were released.
    static func advanceWorkflows(_ ids: [JobID], at now: Date, _ connection: PostgresConnection, notify: PostgresQuery, logger: Logger) async throws -> Bool {
        guard !ids.isEmpty else { return false }
        let raw = ids.map(\.rawValue)
        let rows = try await connection.queryIfOpen("""
            SELECT s.workflow_id, s.job_id, j.state, j.finished_at FROM surety_workflow_steps AS s JOIN surety_jobs AS j ON j.id = s.job_id
            WHERE s.job_id = ANY(\(raw)::int8[]) AND s.state = 'active' AND j.state IN ('completed', 'dead', 'cancelled')
            """, logger: logger).collect {
                (try $0[0].decode(Int64.self), JobID(try $0[1].decode(Int64.self)), try $0[2].decode(String.self), try $0[3].decode(Int64?.self))
            }
        guard !rows.isEmpty else { return false }
        var byWorkflow: [Int64: [JobID: WorkflowTransition.EndedJob]] = [:]
        for (workflow, job, state, finishedAt) in rows {
            if let state = JobState(rawValue: state) {
                byWorkflow[workflow, default: [:]][job] = WorkflowTransition.EndedJob(state: state, finishedAt: finishedAt.map(Timestamp.date))
            }
        }
        var released = false
        for (workflowID, ended) in byWorkflow.sorted(by: { $0.key < $1.key }) {
            let id = WorkflowID(workflowID)
            guard try await lockWorkflow(id, connection, logger: logger),
                  let workflow = try await fetchWorkflow(id, connection, logger: logger) else { continue }
            let changes = WorkflowTransition.stepJobsEnded(workflow, ended, at: now)
            let action = try? OperatorAction(actor: "surety", reason: changes.workflow.note ?? "workflow stopped", at: changes.time)
            let jobs = try await write(changes, action: action, connection, notify: notify, logger: logger)
            if !changes.released.isEmpty {
                released = true
                CrashPoints.reach(.workflowRelease)
            }
            if try await advanceWorkflows(jobs.cancelled, at: changes.time, connection, notify: notify, logger: logger) { released = true }
        }
        return released
    }

    static func lockWorkflow(_ id: WorkflowID, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !connection.queryIfOpen("SELECT id FROM surety_workflows WHERE id = \(id.rawValue) FOR UPDATE", logger: logger)
            .collect { try $0[0].decode(Int64.self) }.isEmpty
    }

    /// Writes a transition: the workflow row, the changed steps, the released steps' jobs, and
    /// the cancels it asks for.
    @discardableResult
    static func write(
        _ changes: WorkflowTransition.Changes, action: OperatorAction?, _ connection: PostgresConnection,
        notify: PostgresQuery, logger: Logger
    ) async throws -> CancellationResult {
        let workflow = changes.workflow
        if changes.workflowChanged {
            try await connection.queryIfOpen("""
                UPDATE surety_workflows SET state = \(workflow.state.rawValue), finished_at = \(workflow.finishedAt.map { Timestamp.micros($0) }),
                    note = \(workflow.note)
                WHERE id = \(workflow.id.rawValue)
                """, logger: logger)
        }
        var jobIDs: [String: JobID] = [:]
        let released = changes.released.compactMap { name in changes.newJob(forReleased: name).map { (name, $0) } }
        if !released.isEmpty {
            let jobs = released.map(\.1)
            let inserted = try await insert(jobs, EnqueueRows(jobs), connection, notify: notify, logger: logger)
            for ((name, _), result) in zip(released, inserted) { jobIDs[name] = result.id }
        }
        for name in changes.changedSteps {
            guard let step = workflow.step(name) else { continue }
            try await connection.queryIfOpen("""
                UPDATE surety_workflow_steps SET state = \(step.state.rawValue), finished_at = \(step.finishedAt.map { Timestamp.micros($0) }),
                    job_id = coalesce(\(jobIDs[name]?.rawValue), job_id)
                WHERE workflow_id = \(workflow.id.rawValue) AND name = \(name)
                """, logger: logger)
        }
        guard let action, !changes.jobsToCancel.isEmpty else { return CancellationResult() }
        return try await requestCancellation(changes.jobsToCancel, action: action, connection, logger: logger)
    }

    // MARK: Reading

    static func fetchWorkflow(_ id: WorkflowID, _ connection: PostgresConnection, logger: Logger) async throws -> WorkflowRecord? {
        let rows = try await connection.queryIfOpen("""
            SELECT name, tenant, state, unique_key, created_at, finished_at, note FROM surety_workflows WHERE id = \(id.rawValue)
            """, logger: logger).collect { row in
                (try row[0].decode(String.self), try row[1].decode(String.self), try row[2].decode(String.self),
                 try row[3].decode(String?.self), try row[4].decode(Int64.self), try row[5].decode(Int64?.self), try row[6].decode(String?.self))
            }
        guard let row = rows.first else { return nil }
        let steps = try await connection.queryIfOpen("""
            SELECT s.name, s.parents, s.compensation, s.state, s.job_id, j.state, s.result, s.finished_at, s.template
            FROM surety_workflow_steps AS s LEFT JOIN surety_jobs AS j ON j.id = s.job_id
            WHERE s.workflow_id = \(id.rawValue) ORDER BY s.position
            """, logger: logger).collect { step in
                WorkflowStepRecord(
                    name: try step[0].decode(String.self), parents: try WorkflowRowCoding.decodeParents(try step[1].decode(String.self)),
                    isCompensation: try step[2].decode(Bool.self),
                    state: try WorkflowRowCoding.decodeEnum(WorkflowStepState.self, try step[3].decode(String.self)),
                    jobID: try step[4].decode(Int64?.self).map { JobID($0) },
                    jobState: try step[5].decode(String?.self).flatMap { JobState(rawValue: $0) },
                    result: try step[6].decode(String?.self),
                    finishedAt: try step[7].decode(Int64?.self).map(Timestamp.date),
                    template: try WorkflowJobTemplate.decode(try step[8].decode(String.self))
                )
            }
        return WorkflowRecord(
            id: id, name: row.0, tenant: TenantID(unchecked: row.1), state: try WorkflowRowCoding.decodeEnum(WorkflowState.self, row.2),
            uniqueKey: row.3, createdAt: Timestamp.date(row.4), finishedAt: row.5.map(Timestamp.date), note: row.6, steps: steps
        )
    }

}

/// A workflow and a step name, Sendable for crossing the transaction's boundary.
struct WorkflowStepLookup: Sendable {
    var workflow: WorkflowRecord
    var step: String
}
