import Foundation

extension JobContext {
    /// The workflow this job belongs to, read from its correlation ID `workflow_id` without a
    /// store read; `nil` for a job that carries none.
    ///
    /// Every step's job carries it (the store sets it when it releases the step). A follow-up job
    /// a step enqueues with ``enqueue(_:options:)`` inherits the step's correlation IDs, so it
    /// carries it too, and so does a job given that correlation ID by hand: to know that this job
    /// IS a step, read ``workflowStep()`` (a store read).
    public var workflowID: WorkflowID? {
        guard let text = correlation[WorkflowJobTemplate.workflowKey], let raw = Int64(text), raw > 0 else { return nil }
        return WorkflowID(raw)
    }

    /// The name of the step this job runs, read from its correlation ID `workflow_step` without
    /// a store read; `nil` when ``workflowID`` is `nil`. Inherited by follow-ups like
    /// ``workflowID``.
    public var workflowStepName: String? {
        guard workflowID != nil else { return nil }
        return correlation[WorkflowJobTemplate.stepKey]
    }

    /// The workflow this job is a step of, and the step's name; `nil` for a job that is not a
    /// workflow step (a follow-up a step enqueued included). Reads the store each call.
    public func workflowStep() async throws -> (workflow: WorkflowRecord, step: String)? {
        guard let store = queueClient.store as? any WorkflowStore else { return nil }
        return try await store.workflowStep(ofJob: id)
    }

    /// The result of `step` (another step of this job's workflow, usually a parent) once it
    /// **completed**, decoded as `T`, as a Temporal activity's result or an Oban Pro recorded
    /// value: `nil` when the step completed without setting one, and `nil` too when it has not
    /// completed (waiting, running, failed, blocked, cancelled, skipped). A parent has always
    /// completed by the time its dependants run, so there `nil` means "it set none".
    ///
    /// ```swift
    /// let report = try await context.stepResult("generate", as: ReportLocation.self)
    /// ```
    ///
    /// To tell "set none" from "not completed", or to read what a failed or still running step
    /// left (a compensation deciding what to undo), use ``stepOutcome(_:as:)``.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step or the
    ///   workflow has no such step; `invalidPayload` when the result does not decode as `T`.
    public func stepResult<T: Decodable & Sendable>(_ step: String, as type: T.Type = T.self) async throws -> T? {
        let outcome = try await stepOutcome(step, as: T.self)
        return outcome.isCompleted ? outcome.result : nil
    }

    /// Where `step` (another step of this job's workflow) is, and the result it holds, decoded
    /// as `T`, whatever its state:
    ///
    /// | `state` | `result` |
    /// |---|---|
    /// | `completed` | what its job set; `nil`: it set none |
    /// | `active` | the last value an attempt that held the lease set so far (the step may still set another, or fail) |
    /// | `failed` | the last value its attempts set before the job died |
    /// | `cancelled` | the last value its attempts set before the cancel; `nil` if it never ran |
    /// | `waiting`, `blocked`, `skipped` | `nil`: it never ran |
    ///
    /// ```swift
    /// let charge = try await context.stepOutcome("charge", as: Receipt.self)
    /// switch charge.state {
    /// case .completed: try await refund(charge.result)
    /// case .active: throw StepStillRunning()          // retry the compensation later
    /// default: break                                  // never charged through this step
    /// }
    /// ```
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step or the
    ///   workflow has no such step; `invalidPayload` when the result does not decode as `T`.
    public func stepOutcome<T: Decodable & Sendable>(_ step: String, as type: T.Type = T.self) async throws -> StepOutcome<T> {
        let record = try await stepRecord(step)
        var result: T?
        if let text = record.result {
            do {
                result = try JobCoding.decodeValue(T.self, from: text)
            } catch {
                throw SuretyError(.invalidPayload, "the result of step '\(step)' does not decode as \(T.self): \(JobQueue.describeDecoding(error))")
            }
        }
        return StepOutcome(step: step, state: record.state, jobID: record.jobID, jobState: record.jobState, finishedAt: record.finishedAt, result: result)
    }

    /// The results of all this step's parents that set one, by parent name, as JSON text (a
    /// step's parents have all completed when it runs).
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step.
    public func parentResults() async throws -> [String: String] {
        guard let (workflow, name) = try await workflowStep(), let step = workflow.step(name) else {
            throw SuretyError(.invalidArgument, "job \(id) is not a workflow step")
        }
        var results: [String: String] = [:]
        for parent in step.parents {
            if let parent = workflow.step(parent), parent.state == .completed, let result = parent.result { results[parent.name] = result }
        }
        return results
    }

    /// The effect ledger's records of `step`'s job (another step of this job's workflow), oldest
    /// first: what it started and confirmed, with each effect's idempotency key
    /// (`record.key.idempotencyKey`) and confirmed result. Empty when the step never got a job.
    /// A step's job keeps its id across its retries, so this covers every attempt.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step, the
    ///   workflow has no such step, or the store has no effect ledger.
    public func effects(ofStep step: String) async throws -> [EffectRecord] {
        guard let ledger = queueClient.store as? any EffectLedgerStore else {
            throw SuretyError(.invalidArgument, "this store has no effect ledger; reading a step's effects needs a store that conforms to EffectLedgerStore")
        }
        guard let job = try await stepRecord(step).jobID else { return [] }
        return try await ledger.effects(of: job)
    }

    /// One effect `step`'s job performed through ``effect(_:key:policy:reconcile:perform:)``
    /// with this `name` and `key`: its idempotency key and state, and its result decoded as
    /// `Result` once confirmed; `nil` when the ledger has no record of it (the step never started
    /// it, or a finding that it did not happen removed the record).
    ///
    /// For a compensation that undoes what a step did, with the same key the provider saw:
    ///
    /// ```swift
    /// guard let charge = try await context.stepEffect("charge", key: order.id, ofStep: "charge", as: Receipt.self) else { return }
    /// try await payments.refund(chargeIdempotencyKey: charge.idempotencyKey)
    /// ```
    ///
    /// A `started` effect (``StepEffect/isInDoubt``) may or may not have happened: ask the
    /// provider by its idempotency key before undoing it.
    /// - Throws: as ``effects(ofStep:)``; `invalidPayload` when a confirmed result does not
    ///   decode as `Result`.
    public func stepEffect<Result: Decodable & Sendable>(
        _ name: String, key: String = "", ofStep step: String, as type: Result.Type = Result.self
    ) async throws -> StepEffect<Result>? {
        let records = try await effects(ofStep: step)
        guard let record = records.first(where: { $0.key.name == name && $0.key.key == key }) else { return nil }
        var result: Result?
        if record.state == .confirmed, let text = record.result {
            result = try EffectCoding.decode(Result.self, from: text, key: record.key)
        }
        return StepEffect(record: record, result: result)
    }

    /// Stores this step's result, handed to the steps that come after it, in a write of its own.
    /// Call it at the end of `run`; the result kept is the last one written by an attempt that
    /// held the job's lease. A job that completes inside its own transaction
    /// (`SQLiteStore.complete(_:stepResult:_:)`, `PostgresStore.complete(_:stepResult:in:_:)`)
    /// passes the result there instead, so it commits with the completion or not at all.
    /// - Throws: ``SuretyError/Code/invalidArgument`` outside a worker or for a job that is not a
    ///   workflow step; `invalidPayload` when the value does not encode; `invalidState` after this
    ///   attempt completed in a transaction (too late: its dependants are already released);
    ///   `leaseLost` when this attempt no longer holds the job.
    public func setStepResult<T: Encodable & Sendable>(_ value: T) async throws {
        guard let store = queueClient.store as? any WorkflowStore, let lease else {
            throw SuretyError(.invalidArgument, "setStepResult needs a running attempt on a store that keeps workflows")
        }
        let text = try encodedStepResult(value)
        if completionState?.hasCompletion == true {
            throw SuretyError(.invalidState, "job \(id) attempt \(attempt) already completed in a transaction: its step result must be set before, or passed to complete(_:stepResult:...) so it commits with the completion")
        }
        guard try await store.setStepResult(text, lease: lease) == .applied else {
            throw SuretyError(.leaseLost, "job \(id) attempt \(attempt): the lease was lost (or the job is not a workflow step); result not stored")
        }
    }

    /// `value` as the JSON text a step result is stored as (for a store's transactional
    /// completion, which writes it in the application's transaction).
    /// - Throws: ``SuretyError/Code/invalidPayload`` when the value does not encode.
    package func encodedStepResult<T: Encodable & Sendable>(_ value: T) throws -> String {
        do {
            return try JobCoding.encodeValue(value)
        } catch {
            throw SuretyError(.invalidPayload, "the result of job \(id) does not encode as JSON")
        }
    }

    /// The stored record of `step` in this job's workflow.
    private func stepRecord(_ step: String) async throws -> WorkflowStepRecord {
        guard let (workflow, _) = try await workflowStep() else {
            throw SuretyError(.invalidArgument, "job \(id) is not a workflow step")
        }
        guard let record = workflow.step(step) else {
            throw SuretyError(.invalidArgument, "workflow '\(workflow.name)' has no step named '\(step)'")
        }
        return record
    }
}
