import Foundation

/// The workflow state machine as pure functions: the stored workflow and an event in, the new
/// workflow (steps included) and what the store must do out. Every store runs exactly this inside
/// the transaction of the event (the memory store under its lock; SQL stores with the workflow's
/// row locked), so a step is released exactly once, in the same transaction that completed its
/// last parent. The diagrams are in docs/workflows.md.
///
/// Times: an event's time is the caller's `now`, or the latest end of a step the workflow records
/// if that is later (``Changes/time``). End times are taken before a write is serialised, so a
/// finish stamped later can commit first; taking the later time keeps a released step's job from
/// being enqueued before one of its parents finished, and a workflow from finishing before one
/// of its steps.
public enum WorkflowTransition {
    /// What an event does.
    public struct Changes: Sendable, Hashable {
        /// The workflow after the event.
        public var workflow: WorkflowRecord
        /// Steps whose jobs the store inserts now (already `active` in ``workflow``): insert
        /// ``newJob(forReleased:)`` and record the job id on the step.
        public var released: [String]
        /// Jobs of active steps to cancel (waiting jobs at once, running ones cooperatively).
        public var jobsToCancel: [JobID]
        /// Steps whose state changed (the store writes these rows).
        public var changedSteps: [String]
        /// Whether the workflow row itself changed (state, finished_at, note).
        public var workflowChanged: Bool
        /// When the event takes effect: the caller's time, or the latest `finishedAt` of a step
        /// of the workflow (after the event) when that is later. Released steps' jobs are enqueued
        /// and due at this time; steps the event stops and the workflow itself end at it.
        public var time: Date

        init(_ workflow: WorkflowRecord, time: Date) {
            self.workflow = workflow
            self.time = time
            released = []
            jobsToCancel = []
            changedSteps = []
            workflowChanged = false
        }

        var isEmpty: Bool { released.isEmpty && jobsToCancel.isEmpty && changedSteps.isEmpty && !workflowChanged }

        /// The job a store inserts for the released step `name`, enqueued and due at ``time``,
        /// in the workflow's tenant, carrying the workflow's id and the step's name; `nil` for a
        /// step that is not in the workflow.
        public func newJob(forReleased name: String) -> NewJob? {
            workflow.step(name).map { $0.template.newJob(tenant: workflow.tenant, workflow: workflow.id, step: name, now: time) }
        }
    }

    /// How a step's job ended, as a store read it in the transaction of the event.
    public struct EndedJob: Sendable, Hashable {
        /// Only `completed`, `dead` and `cancelled` end a step; other states are ignored.
        public var state: JobState
        /// The job's `finished_at`, which becomes the step's `finishedAt`. `nil`: the event's time.
        public var finishedAt: Date?

        public init(state: JobState, finishedAt: Date?) {
            self.state = state
            self.finishedAt = finishedAt
        }
    }

    /// A new workflow: the steps without parents (compensations aside) are released at `now`.
    public static func start(_ workflow: WorkflowRecord, at now: Date) -> Changes {
        var changes = Changes(workflow, time: now)
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .waiting, !step.isCompensation, step.parents.isEmpty else { continue }
            changes.release(index)
        }
        return changes
    }

    /// Jobs of active steps ended (completed, dead or cancelled; other states are ignored, and so
    /// are steps that are not active, such as a dead step's job that an operator requeued). Each
    /// step ends when its job did (``EndedJob/finishedAt``, else `now`).
    ///
    /// - completed: the step stores its result; a waiting step whose parents all completed is
    ///   released; when every step (compensations aside) completed, the workflow completes and
    ///   its compensation steps are skipped.
    /// - dead: the step fails; the workflow fails (once): every waiting step is blocked and the
    ///   compensation steps are released. Steps already running go on; nothing new is released.
    /// - cancelled: the step is cancelled; a running workflow becomes cancelled as by
    ///   ``cancel(_:action:)`` (its waiting steps cancelled, the other active steps' jobs cancelled).
    ///
    /// What the event releases or stops takes effect at ``Changes/time``: never before a step of
    /// the workflow ended, whatever order the finishes were serialised in.
    public static func stepJobsEnded(_ workflow: WorkflowRecord, _ ended: [JobID: EndedJob], at now: Date) -> Changes {
        var changes = Changes(workflow, time: now)
        var failedStep: String?
        var cancelledStep: String?
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .active, let jobID = step.jobID, let end = ended[jobID] else { continue }
            let next: WorkflowStepState
            switch end.state {
            case .completed: next = .completed
            case .dead: next = .failed
            case .cancelled: next = .cancelled
            default: continue
            }
            changes.workflow.steps[index].state = next
            changes.workflow.steps[index].jobState = end.state
            changes.workflow.steps[index].finishedAt = end.finishedAt ?? now
            changes.changedSteps.append(step.name)
            if next == .failed && !step.isCompensation && failedStep == nil { failedStep = step.name }
            if next == .cancelled && !step.isCompensation && cancelledStep == nil { cancelledStep = step.name }
        }
        changes.time = latestEnd(of: changes.workflow, notBefore: now)
        guard changes.workflow.state == .running else { return changes }
        if let failedStep {
            changes.setWorkflow(.failed, note: "step '\(failedStep)' failed")
            for index in changes.workflow.steps.indices where changes.workflow.steps[index].state == .waiting {
                if changes.workflow.steps[index].isCompensation {
                    changes.release(index)
                } else {
                    changes.setStep(index, .blocked)
                }
            }
            return changes
        }
        if let cancelledStep {
            changes.cancelRest(note: "step '\(cancelledStep)' was cancelled")
            return changes
        }
        let completed = Set(changes.workflow.steps.filter { $0.state == .completed }.map(\.name))
        for index in changes.workflow.steps.indices {
            let step = changes.workflow.steps[index]
            guard step.state == .waiting, !step.isCompensation, step.parents.allSatisfy(completed.contains) else { continue }
            changes.release(index)
        }
        if changes.workflow.steps.allSatisfy({ $0.isCompensation || $0.state == .completed }) {
            changes.setWorkflow(.completed, note: nil)
            for index in changes.workflow.steps.indices where changes.workflow.steps[index].state == .waiting {
                changes.setStep(index, .skipped)
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
        var changes = Changes(workflow, time: latestEnd(of: workflow, notBefore: action.at))
        changes.cancelRest(note: CancelRequest.note(actor: action.actor, reason: action.reason))
        return .success(changes)
    }

    /// `now`, or the latest `finishedAt` of a step of `workflow` when that is later.
    static func latestEnd(of workflow: WorkflowRecord, notBefore now: Date) -> Date {
        workflow.steps.reduce(now) { latest, step in max(latest, step.finishedAt ?? latest) }
    }
}

extension WorkflowTransition.Changes {
    mutating func release(_ index: Int) {
        workflow.steps[index].state = .active
        released.append(workflow.steps[index].name)
        changedSteps.append(workflow.steps[index].name)
    }

    mutating func setStep(_ index: Int, _ state: WorkflowStepState) {
        workflow.steps[index].state = state
        workflow.steps[index].finishedAt = time
        changedSteps.append(workflow.steps[index].name)
    }

    mutating func setWorkflow(_ state: WorkflowState, note: String?) {
        workflow.state = state
        workflow.finishedAt = time
        workflow.note = note
        workflowChanged = true
    }

    mutating func cancelRest(note: String) {
        setWorkflow(.cancelled, note: note)
        for index in workflow.steps.indices {
            let step = workflow.steps[index]
            switch step.state {
            case .waiting: setStep(index, step.isCompensation ? .skipped : .cancelled)
            case .active: if let job = step.jobID { jobsToCancel.append(job) }
            default: break
            }
        }
    }
}
