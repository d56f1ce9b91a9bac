import Foundation

/// The workflow state machine as pure functions: the stored workflow and an event in, the new
/// workflow (steps included) and what the store must do out. Every store runs exactly this inside
/// the transaction of the event (the memory store under its lock; SQL stores with the workflow's
/// row locked), so a step is released exactly once, in the same transaction that completed its
/// last parent. The diagrams are in docs/workflows.md.
public enum WorkflowTransition {
    /// What an event does.
    public struct Changes: Sendable, Hashable {
        /// The workflow after the event.
        public var workflow: WorkflowRecord
        /// Steps whose jobs the store inserts now (already `active` in ``workflow``): insert
        /// `step.template.newJob(...)` and record the job id on the step.
        public var released: [String]
        /// Jobs of active steps to cancel (waiting jobs at once, running ones cooperatively).
        public var jobsToCancel: [JobID]
        /// Steps whose state changed (the store writes these rows).
        public var changedSteps: [String]
        /// Whether the workflow row itself changed (state, finished_at, note).
        public var workflowChanged: Bool

        init(_ workflow: WorkflowRecord) {
            self.workflow = workflow
            released = []
            jobsToCancel = []
            changedSteps = []
            workflowChanged = false
        }

        var isEmpty: Bool { released.isEmpty && jobsToCancel.isEmpty && changedSteps.isEmpty && !workflowChanged }
    }

    /// A new workflow: the steps without parents (compensations aside) are released.
    public static func start(_ workflow: WorkflowRecord, at now: Date) -> Changes {
        var changes = Changes(workflow)
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .waiting, !step.isCompensation, step.parents.isEmpty else { continue }
            changes.release(index)
        }
        return changes
    }

    /// Jobs of active steps ended (completed, dead or cancelled; other states are ignored, and so
    /// are steps that are not active, such as a dead step's job that an operator requeued).
    ///
    /// - completed: the step stores its result; a waiting step whose parents all completed is
    ///   released; when every step (compensations aside) completed, the workflow completes and
    ///   its compensation steps are skipped.
    /// - dead: the step fails; the workflow fails (once): every waiting step is blocked and the
    ///   compensation steps are released. Steps already running go on; nothing new is released.
    /// - cancelled: the step is cancelled; a running workflow becomes cancelled as by
    ///   ``cancel(_:action:)`` (its waiting steps cancelled, the other active steps' jobs cancelled).
    public static func stepJobsEnded(_ workflow: WorkflowRecord, _ ended: [JobID: JobState], at now: Date) -> Changes {
        var changes = Changes(workflow)
        var failedStep: String?
        var cancelledStep: String?
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .active, let jobID = step.jobID, let jobState = ended[jobID] else { continue }
            let next: WorkflowStepState
            switch jobState {
            case .completed: next = .completed
            case .dead: next = .failed
            case .cancelled: next = .cancelled
            default: continue
            }
            changes.workflow.steps[index].state = next
            changes.workflow.steps[index].jobState = jobState
            changes.workflow.steps[index].finishedAt = now
            changes.changedSteps.append(step.name)
            if next == .failed && !step.isCompensation && failedStep == nil { failedStep = step.name }
            if next == .cancelled && !step.isCompensation && cancelledStep == nil { cancelledStep = step.name }
        }
        guard changes.workflow.state == .running else { return changes }
        if let failedStep {
            changes.setWorkflow(.failed, at: now, note: "step '\(failedStep)' failed")
            for index in changes.workflow.steps.indices where changes.workflow.steps[index].state == .waiting {
                if changes.workflow.steps[index].isCompensation {
                    changes.release(index)
                } else {
                    changes.setStep(index, .blocked, at: now)
                }
            }
            return changes
        }
        if let cancelledStep {
            changes.cancelRest(at: now, note: "step '\(cancelledStep)' was cancelled")
            return changes
        }
        let completed = Set(changes.workflow.steps.filter { $0.state == .completed }.map(\.name))
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .waiting, !step.isCompensation, step.parents.allSatisfy(completed.contains) else { continue }
            changes.release(index)
        }
        if changes.workflow.steps.allSatisfy({ $0.isCompensation || $0.state == .completed }) {
            changes.setWorkflow(.completed, at: now, note: nil)
            for index in changes.workflow.steps.indices where changes.workflow.steps[index].state == .waiting {
                changes.setStep(index, .skipped, at: now)
            }
        }
        return changes
    }

    /// An operator's (or the application's) cancel of a running workflow: its waiting steps are
    /// cancelled (compensations skipped), the jobs of its active steps are to be cancelled
    /// (waiting jobs at once, running ones cooperatively through ``CancelRequestStore``).
    /// Compensation steps do not run. A finished workflow is skipped.
    public static func cancel(_ workflow: WorkflowRecord, action: OperatorAction) -> Result<Changes, JobLifecycle.SkipReason> {
        guard workflow.state == .running else {
            return .failure(JobLifecycle.SkipReason("workflow is \(workflow.state.rawValue); only running workflows can be cancelled"))
        }
        var changes = Changes(workflow)
        changes.cancelRest(at: action.at, note: CancelRequest.note(actor: action.actor, reason: action.reason))
        return .success(changes)
    }
}

extension WorkflowTransition.Changes {
    mutating func release(_ index: Int) {
        workflow.steps[index].state = .active
        released.append(workflow.steps[index].name)
        changedSteps.append(workflow.steps[index].name)
    }

    mutating func setStep(_ index: Int, _ state: WorkflowStepState, at now: Date) {
        workflow.steps[index].state = state
        workflow.steps[index].finishedAt = now
        changedSteps.append(workflow.steps[index].name)
    }

    mutating func setWorkflow(_ state: WorkflowState, at now: Date, note: String?) {
        workflow.state = state
        workflow.finishedAt = now
        workflow.note = note
        workflowChanged = true
    }

    mutating func cancelRest(at now: Date, note: String) {
        setWorkflow(.cancelled, at: now, note: note)
        for index in workflow.steps.indices {
            let step = workflow.steps[index]
            switch step.state {
            case .waiting: setStep(index, step.isCompensation ? .skipped : .cancelled, at: now)
            case .active: if let job = step.jobID { jobsToCancel.append(job) }
            default: break
            }
        }
    }
}
