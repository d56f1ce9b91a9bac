/// The state of a workflow as one unit. See docs/workflows.md for the diagram.
public enum WorkflowState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Steps are waiting or running.
    case running
    /// Every step (compensations aside) completed. Terminal.
    case completed
    /// A step died (reached the dead-letter inbox): the steps that waited on it are blocked and
    /// the compensation steps run. Terminal (its compensation may still be running).
    case failed
    /// Cancelled by an operator or the application: waiting steps were cancelled and running
    /// ones asked to stop. Terminal.
    case cancelled

    public var isTerminal: Bool { self != .running }
}

/// The state of one step of a workflow. See docs/workflows.md for the diagram.
public enum WorkflowStepState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Not all of its parents completed yet (a compensation step: no step failed yet). No job
    /// exists for it.
    case waiting
    /// Its job exists and has not ended: the job's own state (available, running, retrying...)
    /// says where it is. Retries happen here, without touching the other steps.
    case active
    /// Its job completed; its result (if it set one) is stored. Terminal.
    case completed
    /// Its job died (dead-letter inbox). Terminal.
    case failed
    /// It never ran because a step of the workflow failed ("blocked by failure"). Terminal.
    case blocked
    /// Its job was cancelled, or the workflow was cancelled before it ran. Terminal.
    case cancelled
    /// A compensation step that was not needed: the workflow completed or was cancelled. Terminal.
    case skipped

    public var isTerminal: Bool { self != .waiting && self != .active }
}
