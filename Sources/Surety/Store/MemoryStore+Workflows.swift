import Foundation

/// The memory store's workflow tables.
struct WorkflowTables {
    var records: [WorkflowID: WorkflowRecord] = [:]
    /// Which workflow and step each released step job belongs to.
    var stepOfJob: [JobID: StepRef] = [:]
    var nextID: Int64 = 1

    struct StepRef {
        var workflow: WorkflowID
        var step: String
    }
}

extension MemoryStore: WorkflowStore {
    public func enqueueWorkflows(_ workflows: [NewWorkflow]) async throws -> [EnqueuedWorkflow] {
        let (results, wake) = state.withLock { state -> ([EnqueuedWorkflow], Bool) in
            var wake = false
            let results = workflows.map { workflow -> EnqueuedWorkflow in
                if let key = workflow.uniqueKey, let holder = state.workflows.records.values.first(where: {
                    $0.tenant == workflow.tenant && key.sameBytes($0.uniqueKey) && $0.state == .running
                }) {
                    return EnqueuedWorkflow(id: holder.id, inserted: false)
                }
                let id = WorkflowID(state.workflows.nextID)
                state.workflows.nextID += 1
                let changes = WorkflowTransition.start(workflow.record(id: id), at: workflow.createdAt)
                Self.apply(changes, &state)
                if !changes.released.isEmpty { wake = true }
                return EnqueuedWorkflow(id: id, inserted: true)
            }
            return (results, wake)
        }
        if wake { signal() }
        return results
    }

    public func workflow(_ id: WorkflowID) async throws -> WorkflowRecord? {
        state.withLock { state in state.workflows.records[id].map { Self.withJobStates($0, state) } }
    }

    public func workflows(_ filter: WorkflowFilter) async throws -> [WorkflowRecord] {
        state.withLock { state in
            state.workflows.records.values.filter(filter.matches).sorted { $0.id > $1.id }
                .prefix(max(0, filter.limit)).map { Self.withJobStates($0, state) }
        }
    }

    public func workflowStep(ofJob id: JobID) async throws -> (workflow: WorkflowRecord, step: String)? {
        state.withLock { state in
            guard let ref = state.workflows.stepOfJob[id], let record = state.workflows.records[ref.workflow] else { return nil }
            return (Self.withJobStates(record, state), ref.step)
        }
    }

    public func setStepResult(_ result: String, lease: Lease) async throws -> FenceResult {
        state.withLock { state in
            guard let job = state.jobs[lease.jobID], JobLifecycle.holdsLease(job, currentToken: state.tokens[job.id], lease: lease),
                  let ref = state.workflows.stepOfJob[lease.jobID],
                  let index = state.workflows.records[ref.workflow]?.steps.firstIndex(where: { $0.name == ref.step }) else { return .leaseLost }
            state.workflows.records[ref.workflow]?.steps[index].result = result
            return .applied
        }
    }

    public func cancelWorkflow(_ id: WorkflowID, action: OperatorAction) async throws -> WorkflowCancellation? {
        state.withLock { state in
            guard let record = state.workflows.records[id] else { return nil }
            switch WorkflowTransition.cancel(record, action: action) {
            case .failure(let skip):
                return WorkflowCancellation(workflow: id, cancelled: false, skippedReason: skip.message)
            case .success(let changes):
                let jobs = Self.apply(changes, &state, action: action)
                _ = Self.advanceWorkflows(&state, ended: jobs.cancelled, at: changes.time)
                return WorkflowCancellation(workflow: id, cancelled: true, jobs: jobs)
            }
        }
    }

    /// After jobs may have ended (finish, cancel): advances the workflows of those that are
    /// active steps, under the caller's lock. Returns whether jobs were released.
    static func advanceWorkflows(_ state: inout State, ended ids: [JobID], at now: Date) -> Bool {
        guard !state.workflows.stepOfJob.isEmpty else { return false }
        var byWorkflow: [WorkflowID: [JobID: WorkflowTransition.EndedJob]] = [:]
        for id in ids {
            guard let ref = state.workflows.stepOfJob[id], let job = state.jobs[id], job.state.isTerminal else { continue }
            byWorkflow[ref.workflow, default: [:]][id] = WorkflowTransition.EndedJob(state: job.state, finishedAt: job.finishedAt)
        }
        var released = false
        for (id, ended) in byWorkflow.sorted(by: { $0.key < $1.key }) {
            guard let record = state.workflows.records[id] else { continue }
            let changes = WorkflowTransition.stepJobsEnded(record, ended, at: now)
            let action = try? OperatorAction(actor: "surety", reason: changes.workflow.note ?? "workflow stopped", at: changes.time)
            let jobs = apply(changes, &state, action: action)
            if !changes.released.isEmpty { released = true }
            if !jobs.cancelled.isEmpty, advanceWorkflows(&state, ended: jobs.cancelled, at: changes.time) { released = true }
        }
        return released
    }

    /// Writes a transition: the workflow, its released steps' jobs, the cancels it asks for.
    @discardableResult
    static func apply(_ changes: WorkflowTransition.Changes, _ state: inout State, action: OperatorAction? = nil) -> CancellationResult {
        var workflow = changes.workflow
        for name in changes.released {
            guard let index = workflow.steps.firstIndex(where: { $0.name == name }), let new = changes.newJob(forReleased: name) else { continue }
            let id = JobID(state.nextID)
            state.nextID += 1
            state.jobs[id] = JobRecord(
                id: id, type: new.type, queue: new.queue, priority: new.priority, tenant: new.tenant,
                state: new.initialState, payload: new.payload, attempt: 0, maxAttempts: new.maxAttempts,
                runAt: new.runAt, enqueuedAt: new.enqueuedAt, tags: new.tags, correlation: new.correlation,
                partitionKey: new.partitionKey, traceContext: new.traceContext
            )
            workflow.steps[index].jobID = id
            state.workflows.stepOfJob[id] = WorkflowTables.StepRef(workflow: workflow.id, step: name)
        }
        for index in workflow.steps.indices { workflow.steps[index].jobState = nil }
        state.workflows.records[workflow.id] = workflow
        guard let action, !changes.jobsToCancel.isEmpty else { return CancellationResult() }
        return requestCancellation(changes.jobsToCancel, action: action, &state)
    }

    /// The record with each released step's current job state.
    static func withJobStates(_ record: WorkflowRecord, _ state: State) -> WorkflowRecord {
        var record = record
        for index in record.steps.indices {
            record.steps[index].jobState = record.steps[index].jobID.flatMap { state.jobs[$0]?.state }
        }
        return record
    }
}
