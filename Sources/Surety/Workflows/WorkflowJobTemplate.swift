import Foundation

/// The job a step runs, as stored with the step until the step is released: everything of a
/// ``NewJob`` but its times, tenant (the workflow's) and unique key (steps have none).
public struct WorkflowJobTemplate: Sendable, Hashable, Codable {
    public var type: String
    public var queue: String
    public var priority: Int
    /// The payload as JSON text.
    public var payload: String
    public var maxAttempts: Int
    public var tags: [String]
    public var correlation: [String: String]
    public var partitionKey: String?
    public var traceContext: [String: String]

    public init(_ job: NewJob) {
        type = job.type
        queue = job.queue
        priority = job.priority
        payload = job.payload
        maxAttempts = job.maxAttempts
        tags = job.tags
        correlation = job.correlation
        partitionKey = job.partitionKey
        traceContext = job.traceContext
    }

    /// Correlation keys every step job carries (so its log lines and filters name the workflow).
    public static let workflowKey = "workflow_id"
    public static let stepKey = "workflow_step"

    /// The step's job, due at `now`, in the workflow's tenant, with the workflow's id and the
    /// step's name added to its correlation IDs.
    public func newJob(tenant: TenantID, workflow: WorkflowID, step: String, now: Date) -> NewJob {
        var correlation = correlation
        correlation[Self.workflowKey] = workflow.description
        correlation[Self.stepKey] = step
        return NewJob(
            type: type, queue: queue, priority: priority, tenant: tenant, payload: payload, runAt: now, enqueuedAt: now,
            maxAttempts: maxAttempts, uniqueKey: nil, uniqueScope: .whileActive, tags: tags, correlation: correlation,
            partitionKey: partitionKey, traceContext: traceContext
        )
    }

    /// The template as JSON text (how SQL stores keep it).
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// - Throws: ``SuretyError/Code/storeCorrupt`` when the text is not a template.
    public static func decode(_ text: String) throws -> WorkflowJobTemplate {
        do {
            return try JSONDecoder().decode(WorkflowJobTemplate.self, from: Data(text.utf8))
        } catch {
            throw SuretyError(.storeCorrupt, "a workflow step's job template does not decode")
        }
    }
}
