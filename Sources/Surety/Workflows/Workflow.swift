import Foundation
import Logging
import Tracing

/// A graph of steps declared by stable names, each step a job with its own retries. Enqueue it
/// with ``JobQueue/enqueue(_:tenant:uniqueKey:)``.
///
/// ```swift
/// var workflow = try Workflow("monthly-report")
/// try workflow.step("generate", GenerateReport(userID: user))
/// try workflow.step("thumbnails", ProcessAssets(kind: .thumbnails), after: ["generate"])
/// try workflow.step("charts", ProcessAssets(kind: .charts), after: ["generate"])
/// try workflow.step("upload", UploadResults(), after: ["thumbnails", "charts"])
/// try workflow.step("notify", NotifyUser(userID: user), after: ["upload"])
/// try workflow.compensation("cleanup", CleanUpPartialReport(userID: user))
/// try await queue.enqueue(workflow, tenant: tenant, uniqueKey: "report-\(user)")
/// ```
///
/// - A step runs when ALL the steps it comes `after` completed (fan-in); several steps after
///   one step run in parallel (fan-out). Steps without `after` run at once.
/// - A step's job reads its parents' results with ``JobContext/stepResult(_:as:)`` and sets
///   its own with ``JobContext/setStepResult(_:)``.
/// - A failed attempt retries that step alone (its job's retry policy); steps that completed
///   are never rerun. A step whose job dies fails the workflow: the steps still waiting are
///   blocked (they never run) and the compensation steps run.
/// - Parents must be declared before their dependants, so a workflow cannot have a cycle.
public struct Workflow: Sendable {
    /// The workflow's name, shown by `surety workflows` (1 to 128 characters).
    public let name: String
    var steps: [DeclaredStep] = []

    struct DeclaredStep: Sendable {
        var name: String
        var parents: [String]
        var isCompensation: Bool
        var type: String
        var payload: String
        var typeOptions: JobOptions
        var partitionKey: String?
        var options: EnqueueOptions
    }

    /// - Throws: ``SuretyError/Code/invalidArgument`` when the name is empty or longer than 128.
    public init(_ name: String) throws {
        guard !name.isEmpty, name.count <= 128 else {
            throw SuretyError(.invalidArgument, "a workflow name must be 1 to 128 characters")
        }
        self.name = name
    }

    /// Declares a step that runs `job` once every step in `after` completed.
    /// - Parameters:
    ///   - name: stable and unique within the workflow (1 to 128 characters).
    ///   - job: the job the step runs.
    ///   - after: the parents, already declared. Default: none (runs at once).
    ///   - options: queue, priority, attempts, tags, correlation, partition key for this step's
    ///     job; `runAt`, `delay` and `uniqueKey` are not used for steps. Default: the type's options.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a duplicate or bad name or an unknown
    ///   parent; `invalidPayload` when the job does not encode.
    public mutating func step<J: Job>(_ name: String, _ job: J, after: [String] = [], options: EnqueueOptions = EnqueueOptions()) throws {
        try declare(name, job, after: after, isCompensation: false, options: options)
    }

    /// Declares a compensation step: it runs only if a step of the workflow fails (its job
    /// dies), for example to undo or clean up what completed steps did. It can read every
    /// completed step's result with ``JobContext/stepResult(_:as:)``. It does not run when the
    /// workflow completes or is cancelled (it is then `skipped`).
    public mutating func compensation<J: Job>(_ name: String, _ job: J, options: EnqueueOptions = EnqueueOptions()) throws {
        try declare(name, job, after: [], isCompensation: true, options: options)
    }

    private mutating func declare<J: Job>(_ name: String, _ job: J, after: [String], isCompensation: Bool, options: EnqueueOptions) throws {
        guard !name.isEmpty, name.count <= 128 else {
            throw SuretyError(.invalidArgument, "a step name must be 1 to 128 characters")
        }
        guard !steps.contains(where: { $0.name == name }) else {
            throw SuretyError(.invalidArgument, "workflow '\(self.name)' already has a step named '\(name)'")
        }
        for parent in after {
            guard let declared = steps.first(where: { $0.name == parent }) else {
                throw SuretyError(.invalidArgument, "step '\(name)' comes after '\(parent)', which is not declared before it")
            }
            guard !declared.isCompensation else {
                throw SuretyError(.invalidArgument, "step '\(name)' cannot come after the compensation step '\(parent)'")
            }
        }
        guard Set(after).count == after.count else {
            throw SuretyError(.invalidArgument, "step '\(name)' names a parent twice")
        }
        steps.append(DeclaredStep(
            name: name, parents: after, isCompensation: isCompensation, type: J.name, payload: try JobCoding.encode(job),
            typeOptions: J.options, partitionKey: options.partitionKey ?? job.partitionKey, options: options
        ))
    }

    /// The declared step names, in order.
    public var stepNames: [String] { steps.map(\.name) }
}

extension JobQueue {
    /// Enqueues a workflow for `tenant` in one transaction: the workflow, all its steps, and the
    /// jobs of the steps that run at once. Every step's job runs for `tenant`.
    /// - Parameters:
    ///   - workflow: the workflow to enqueue.
    ///   - tenant: the tenant every step's job runs for.
    ///   - uniqueKey: while a workflow of this tenant with this key runs, enqueueing another
    ///     returns the running one (`inserted == false`). Default: `nil`, no key.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for a workflow without steps (or without a
    ///   step that is not a compensation), a bad key or step options, or a store that does not
    ///   keep workflows (``WorkflowStore``).
    @discardableResult
    public func enqueue(_ workflow: Workflow, tenant: TenantID, uniqueKey: String? = nil) async throws -> EnqueuedWorkflow {
        guard let store = store as? any WorkflowStore else {
            throw SuretyError(.invalidArgument, "this store does not keep workflows; it must conform to WorkflowStore")
        }
        guard workflow.steps.contains(where: { !$0.isCompensation }) else {
            throw SuretyError(.invalidArgument, "workflow '\(workflow.name)' needs at least one step that is not a compensation")
        }
        if let key = uniqueKey, key.isEmpty || key.count > 512 {
            throw SuretyError(.invalidArgument, "unique key must be 1 to 512 characters")
        }
        let now = clock.now()
        let trace = JobTracing.carrier(for: ServiceContext.current, tracer: tracing.resolved)
        let steps = try workflow.steps.map { step in
            var options = step.options
            options.runAt = nil
            options.delay = nil
            let job = try makeNewJob(
                type: step.type, payload: step.payload, typeOptions: step.typeOptions, uniqueKey: nil,
                partitionKey: step.partitionKey, tenant: tenant, options: options, now: now, traceContext: trace
            )
            return NewWorkflow.Step(name: step.name, parents: step.parents, isCompensation: step.isCompensation, template: WorkflowJobTemplate(job))
        }
        let result = try await store.enqueueWorkflow(NewWorkflow(name: workflow.name, tenant: tenant, uniqueKey: uniqueKey, createdAt: now, steps: steps))
        logger.info(result.inserted ? "workflow enqueued" : "workflow already running under its unique key", metadata: [
            "workflow_id": "\(result.id)", "workflow": "\(workflow.name)", "tenant": "\(tenant)", "steps": "\(steps.count)",
        ])
        return result
    }

    /// Cancels a running workflow: waiting steps never run, waiting step jobs are cancelled at
    /// once, running ones cooperatively (their worker cancels the task at its next heartbeat).
    /// Compensation steps do not run. Audited per job.
    /// - Throws: ``SuretyError/Code/notFound`` for an unknown workflow; `invalidArgument` for a
    ///   blank actor or reason, or a store without workflows.
    @discardableResult
    public func cancelWorkflow(_ id: WorkflowID, by actor: String, reason: String) async throws -> WorkflowCancellation {
        guard let store = store as? any WorkflowStore else {
            throw SuretyError(.invalidArgument, "this store does not keep workflows; it must conform to WorkflowStore")
        }
        let action = try OperatorAction(actor: actor, reason: reason, at: clock.now())
        guard let result = try await store.cancelWorkflow(id, action: action) else {
            throw SuretyError(.notFound, "no workflow with id \(id)")
        }
        return result
    }
}
