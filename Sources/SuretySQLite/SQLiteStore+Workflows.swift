import Foundation
import GRDB
import Surety

extension SQLiteStore: WorkflowStore {
    public func enqueueWorkflows(_ workflows: [NewWorkflow]) async throws -> [EnqueuedWorkflow] {
        guard !workflows.isEmpty else { return [] }
        for workflow in workflows { try StoreErrors.refuseNUL(in: workflow) }
        let (results, wake) = try await write("enqueueWorkflows") { db -> ([EnqueuedWorkflow], Bool) in
            var wake = false
            let results = try workflows.map { workflow -> EnqueuedWorkflow in
                let (result, released) = try Self.insertWorkflow(workflow, db)
                if released { wake = true }
                return result
            }
            return (results, wake)
        }
        if wake { signal() }
        return results
    }

    /// One workflow of a batch, inside the batch's write transaction: the holder of its unique
    /// key (a workflow inserted earlier in the same transaction included), or the new workflow,
    /// its steps and its root steps' jobs. Returns whether jobs were released.
    static func insertWorkflow(_ workflow: NewWorkflow, _ db: Database) throws -> (EnqueuedWorkflow, Bool) {
        if let key = workflow.uniqueKey, let holder = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM surety_workflows WHERE tenant = ? AND unique_key = ? AND state = 'running'
            """), arguments: [workflow.tenant.rawValue, key]) {
            return (EnqueuedWorkflow(id: WorkflowID(holder), inserted: false), false)
        }
        try db.cachedStatement(sql: """
            INSERT INTO surety_workflows (name, tenant, state, unique_key, created_at) VALUES (?, ?, 'running', ?, ?)
            """).execute(arguments: [workflow.name, workflow.tenant.rawValue, workflow.uniqueKey, Timestamp.micros(workflow.createdAt)])
        let id = WorkflowID(db.lastInsertedRowID)
        let insert = try db.cachedStatement(sql: """
            INSERT INTO surety_workflow_steps (workflow_id, position, name, job_type, queue, parents, compensation, state, template)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?)
            """)
        for (position, step) in workflow.steps.enumerated() {
            try insert.execute(arguments: [
                id.rawValue, position, step.name, step.template.type, step.template.queue,
                WorkflowRowCoding.encodeParents(step.parents), step.isCompensation, step.template.encoded(),
            ])
        }
        let changes = WorkflowTransition.start(workflow.record(id: id), at: workflow.createdAt)
        try write(changes, action: nil, db)
        return (EnqueuedWorkflow(id: id, inserted: true), !changes.released.isEmpty)
    }

    public func workflow(_ id: WorkflowID) async throws -> WorkflowRecord? {
        try await read("workflow") { db in try Self.fetchWorkflow(id, db) }
    }

    public func workflows(_ filter: WorkflowFilter) async throws -> [WorkflowRecord] {
        try await read("workflows") { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if !filter.states.isEmpty {
                conditions.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ", ")))")
                arguments += filter.states.map(\.rawValue)
            }
            if !filter.tenants.isEmpty {
                conditions.append("tenant IN (\(filter.tenants.map { _ in "?" }.joined(separator: ", ")))")
                arguments += filter.tenants.map(\.rawValue)
            }
            if let name = filter.name {
                try StoreErrors.refuseNUL([name], "the workflow name filter")
                conditions.append("name = ?")
                arguments.append(name)
            }
            if let before = filter.beforeID {
                conditions.append("id < ?")
                arguments.append(before.rawValue)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(max(0, filter.limit))
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM surety_workflows \(whereClause) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(arguments))
            return try ids.compactMap { try Self.fetchWorkflow(WorkflowID($0), db) }
        }
    }

    public func workflowStep(ofJob id: JobID) async throws -> (workflow: WorkflowRecord, step: String)? {
        let found = try await read("workflowStep") { db -> WorkflowStepLookup? in
            guard let row = try Row.fetchOne(db, sql: "SELECT workflow_id, name FROM surety_workflow_steps WHERE job_id = ?", arguments: [id.rawValue]),
                  let workflow = try Self.fetchWorkflow(WorkflowID(try row.decode(Int64.self, atIndex: 0)), db) else { return nil }
            return WorkflowStepLookup(workflow: workflow, step: try row.decode(String.self, atIndex: 1))
        }
        return found.map { ($0.workflow, $0.step) }
    }

    public func setStepResult(_ result: String, lease: Lease) async throws -> FenceResult {
        try StoreErrors.refuseNUL([result], "the step's result")
        return try await write("setStepResult") { db in
            try db.execute(sql: """
                UPDATE surety_workflow_steps SET result = ?
                WHERE job_id = ? AND EXISTS (SELECT 1 FROM surety_jobs WHERE id = ? AND state = 'running' AND lease_token = ?)
                """, arguments: [result, lease.jobID.rawValue, lease.jobID.rawValue, lease.token])
            return db.changesCount > 0 ? .applied : .leaseLost
        }
    }

    /// Writes the result of a step whose job this transaction just completed, fenced by that
    /// completion (if it did not apply, the transaction rolls back before reaching here).
    /// - Throws: ``SuretyError/Code/invalidArgument`` when the job is not a workflow step, which
    ///   rolls the transaction back.
    static func storeStepResult(_ result: String, ofCompleted job: JobID, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE surety_workflow_steps SET result = ? WHERE job_id = ?").execute(arguments: [result, job.rawValue])
        guard db.changesCount > 0 else {
            throw SuretyError(.invalidArgument, "job \(job) is not a workflow step; it has no step result to store (rolled back)")
        }
    }

    public func cancelWorkflow(_ id: WorkflowID, action: OperatorAction) async throws -> WorkflowCancellation? {
        try await write("cancelWorkflow") { db in
            guard let workflow = try Self.fetchWorkflow(id, db) else { return nil }
            switch WorkflowTransition.cancel(workflow, action: action) {
            case .failure(let skip):
                return WorkflowCancellation(workflow: id, cancelled: false, skippedReason: skip.message)
            case .success(let changes):
                let jobs = try Self.write(changes, action: action, db)
                _ = try Self.advanceWorkflows(jobs.cancelled, at: changes.time, db)
                return WorkflowCancellation(workflow: id, cancelled: true, jobs: jobs)
            }
        }
    }

    // MARK: Advancing, inside the transaction that ended the jobs

    /// After jobs may have ended (finish, cancel), in the same write transaction: advances the
    /// workflows whose active steps they are. SQLite has one writer, so the workflow cannot
    /// change underneath. Costs one page read while no step is active. Returns whether step jobs
    /// were released (worth waking workers for).
    static func advanceWorkflows(_ ids: [JobID], at now: Date, _ db: Database) throws -> Bool {
        guard !ids.isEmpty,
              try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM surety_workflow_steps WHERE state = 'active')")) == true
        else { return false }
        let lookup = try db.cachedStatement(sql: """
            SELECT s.workflow_id, j.state, j.finished_at FROM surety_workflow_steps AS s JOIN surety_jobs AS j ON j.id = s.job_id
            WHERE s.job_id = ? AND s.state = 'active'
            """)
        var byWorkflow: [Int64: [JobID: WorkflowTransition.EndedJob]] = [:]
        for id in ids {
            guard let row = try Row.fetchOne(lookup, arguments: [id.rawValue]),
                  let state = JobState(rawValue: try row.decode(String.self, atIndex: 1)), state.isTerminal else { continue }
            byWorkflow[try row.decode(Int64.self, atIndex: 0), default: [:]][id] = WorkflowTransition.EndedJob(
                state: state, finishedAt: try row.decode(Int64?.self, atIndex: 2).map(Timestamp.date)
            )
        }
        var released = false
        for (workflowID, ended) in byWorkflow.sorted(by: { $0.key < $1.key }) {
            guard let workflow = try fetchWorkflow(WorkflowID(workflowID), db) else { continue }
            let changes = WorkflowTransition.stepJobsEnded(workflow, ended, at: now)
            let action = try? OperatorAction(actor: "surety", reason: changes.workflow.note ?? "workflow stopped", at: changes.time)
            let jobs = try write(changes, action: action, db)
            if !changes.released.isEmpty {
                released = true
                CrashPoints.reach(.workflowRelease)
            }
            if try advanceWorkflows(jobs.cancelled, at: changes.time, db) { released = true }
        }
        return released
    }

    /// Writes a transition: the workflow row, the changed steps, the released steps' jobs, and
    /// the cancels it asks for.
    @discardableResult
    static func write(_ changes: WorkflowTransition.Changes, action: OperatorAction?, _ db: Database) throws -> CancellationResult {
        let workflow = changes.workflow
        if changes.workflowChanged {
            try db.execute(sql: "UPDATE surety_workflows SET state = ?, finished_at = ?, note = ? WHERE id = ?", arguments: [
                workflow.state.rawValue, workflow.finishedAt.map(Timestamp.micros), workflow.note, workflow.id.rawValue,
            ])
        }
        var jobIDs: [String: JobID] = [:]
        for name in changes.released {
            guard let new = changes.newJob(forReleased: name) else { continue }
            jobIDs[name] = try insert([new], db)[0].id
        }
        let update = try db.cachedStatement(sql: """
            UPDATE surety_workflow_steps SET state = ?, finished_at = ?, job_id = coalesce(?, job_id)
            WHERE workflow_id = ? AND name = ?
            """)
        for name in changes.changedSteps {
            guard let step = workflow.step(name) else { continue }
            try update.execute(arguments: [
                step.state.rawValue, step.finishedAt.map(Timestamp.micros), jobIDs[name]?.rawValue, workflow.id.rawValue, name,
            ])
        }
        guard let action, !changes.jobsToCancel.isEmpty else { return CancellationResult() }
        return try requestCancellation(changes.jobsToCancel, action: action, db)
    }

    // MARK: Reading

    static func fetchWorkflow(_ id: WorkflowID, _ db: Database) throws -> WorkflowRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, name, tenant, state, unique_key, created_at, finished_at, note FROM surety_workflows WHERE id = ?
            """), arguments: [id.rawValue]) else { return nil }
        let steps = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT s.name, s.parents, s.compensation, s.state, s.job_id, j.state, s.result, s.finished_at, s.template
            FROM surety_workflow_steps AS s LEFT JOIN surety_jobs AS j ON j.id = s.job_id
            WHERE s.workflow_id = ? ORDER BY s.position
            """), arguments: [id.rawValue]).map { step in
            WorkflowStepRecord(
                name: try step.decode(String.self, atIndex: 0), parents: try WorkflowRowCoding.decodeParents(try step.decode(String.self, atIndex: 1)),
                isCompensation: try step.decode(Bool.self, atIndex: 2),
                state: try WorkflowRowCoding.decodeEnum(WorkflowStepState.self, try step.decode(String.self, atIndex: 3)),
                jobID: try step.decode(Int64?.self, atIndex: 4).map { JobID($0) },
                jobState: try step.decode(String?.self, atIndex: 5).flatMap { JobState(rawValue: $0) },
                result: try step.decode(String?.self, atIndex: 6),
                finishedAt: try step.decode(Int64?.self, atIndex: 7).map(Timestamp.date),
                template: try WorkflowJobTemplate.decode(try step.decode(String.self, atIndex: 8))
            )
        }
        return WorkflowRecord(
            id: id, name: try row.decode(String.self, atIndex: 1), tenant: TenantID(unchecked: try row.decode(String.self, atIndex: 2)),
            state: try WorkflowRowCoding.decodeEnum(WorkflowState.self, try row.decode(String.self, atIndex: 3)),
            uniqueKey: try row.decode(String?.self, atIndex: 4), createdAt: Timestamp.date(try row.decode(Int64.self, atIndex: 5)),
            finishedAt: try row.decode(Int64?.self, atIndex: 6).map(Timestamp.date), note: try row.decode(String?.self, atIndex: 7),
            steps: steps
        )
    }

}

/// A workflow and a step name, Sendable for crossing the reader's boundary.
struct WorkflowStepLookup: Sendable {
    var workflow: WorkflowRecord
    var step: String
}
