import Foundation

/// Where a step of a workflow is and the result it holds, as read by
/// ``JobContext/stepOutcome(_:as:)``: tells "completed without a result" (`isCompleted`,
/// `result == nil`) from "not completed" (`isCompleted == false`).
public struct StepOutcome<Result: Sendable>: Sendable {
    /// The step's name.
    public var step: String
    /// The step's state when read.
    public var state: WorkflowStepState
    /// The step's job, once released; `nil` while it waits (and for steps that never ran).
    public var jobID: JobID?
    /// The state of the step's job when read; `nil` before the step was released.
    public var jobState: JobState?
    /// When the step reached a terminal state; `nil` while it waits or runs.
    public var finishedAt: Date?
    /// The result the step's attempts set, decoded; `nil` when none set one. For a step that
    /// did not complete it is what its attempts left (see ``JobContext/stepOutcome(_:as:)``).
    public var result: Result?

    public init(step: String, state: WorkflowStepState, jobID: JobID?, jobState: JobState?, finishedAt: Date?, result: Result?) {
        self.step = step
        self.state = state
        self.jobID = jobID
        self.jobState = jobState
        self.finishedAt = finishedAt
        self.result = result
    }

    /// Whether the step completed: its result (or its absence) is final.
    public var isCompleted: Bool { state == .completed }
}

extension StepOutcome: Equatable where Result: Equatable {}
extension StepOutcome: Hashable where Result: Hashable {}
