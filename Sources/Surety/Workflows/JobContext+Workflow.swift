import Foundation

extension JobContext {
    /// The workflow this job is a step of, and the step's name; `nil` for a job that is not a
    /// workflow step. Reads the store each call.
    public func workflowStep() async throws -> (workflow: WorkflowRecord, step: String)? {
        guard let store = queueClient.store as? any WorkflowStore else { return nil }
        return try await store.workflowStep(ofJob: id)
    }

    /// The result another step of this job's workflow set (usually a parent's), decoded as `T`;
    /// `nil` when that step set none.
    ///
    /// ```swift
    /// let report = try await context.stepResult("generate", as: ReportLocation.self)
    /// ```
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step or the
    ///   workflow has no such step; `invalidPayload` when the result does not decode as `T`.
    public func stepResult<T: Decodable & Sendable>(_ step: String, as type: T.Type = T.self) async throws -> T? {
        guard let (workflow, _) = try await workflowStep() else {
            throw SuretyError(.invalidArgument, "job \(id) is not a workflow step")
        }
        guard let record = workflow.step(step) else {
            throw SuretyError(.invalidArgument, "workflow '\(workflow.name)' has no step named '\(step)'")
        }
        guard let text = record.result else { return nil }
        do {
            return try JobCoding.decodeValue(T.self, from: text)
        } catch {
            throw SuretyError(.invalidPayload, "the result of step '\(step)' does not decode as \(T.self): \(JobQueue.describeDecoding(error))")
        }
    }

    /// The results of all this step's parents that set one, by parent name, as JSON text.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when this job is not a workflow step.
    public func parentResults() async throws -> [String: String] {
        guard let (workflow, name) = try await workflowStep(), let step = workflow.step(name) else {
            throw SuretyError(.invalidArgument, "job \(id) is not a workflow step")
        }
        var results: [String: String] = [:]
        for parent in step.parents {
            if let result = workflow.step(parent)?.result { results[parent] = result }
        }
        return results
    }

    /// Stores this step's result, handed to the steps that come after it. Call it at the end of
    /// `run`; the result kept is the last one written by an attempt that held the job's lease.
    /// - Throws: ``SuretyError/Code/invalidArgument`` outside a worker or for a job that is not a
    ///   workflow step; `invalidPayload` when the value does not encode; `leaseLost` when this
    ///   attempt no longer holds the job.
    public func setStepResult<T: Encodable & Sendable>(_ value: T) async throws {
        guard let store = queueClient.store as? any WorkflowStore, let lease else {
            throw SuretyError(.invalidArgument, "setStepResult needs a running attempt on a store that keeps workflows")
        }
        let text: String
        do {
            text = try JobCoding.encodeValue(value)
        } catch {
            throw SuretyError(.invalidPayload, "the result of job \(id) does not encode as JSON")
        }
        guard try await store.setStepResult(text, lease: lease) == .applied else {
            throw SuretyError(.leaseLost, "job \(id) attempt \(attempt): the lease was lost (or the job is not a workflow step); result not stored")
        }
    }
}
