import Foundation

/// A graph of steps declared by stable names, each step a job with its own retries. Enqueue it
/// with ``JobQueue/enqueue(_:tenant:uniqueKey:)``, or many at once with
/// ``JobQueue/enqueue(_:tenant:)``.
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
    /// While a workflow of the same tenant with this key runs, enqueueing this one returns the
    /// running one instead (``EnqueuedWorkflow/inserted`` is `false`); once it finished, the key
    /// is free. 1 to 512 characters, checked at enqueue. Default: `nil`, no key.
    public var uniqueKey: String?
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

    /// - Parameters:
    ///   - name: the workflow's name, 1 to 128 characters.
    ///   - uniqueKey: see ``uniqueKey``. Default: `nil`, no key.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when the name is empty or longer than 128.
    public init(_ name: String, uniqueKey: String? = nil) throws {
        guard !name.isEmpty, name.count <= 128 else {
            throw SuretyError(.invalidArgument, "a workflow name must be 1 to 128 characters")
        }
        self.name = name
        self.uniqueKey = uniqueKey
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
