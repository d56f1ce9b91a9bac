import Foundation

extension MemoryStore {
    /// The one place the memory store changes a job's row: `event`'s ``JobTransition`` applied
    /// to job `id` under the store's lock, with its lease token (a new one for a claim, none once
    /// released) and, for the end of an attempt, its history row. Returns the new record, or why
    /// the event does not apply (nothing changed then).
    static func apply(_ event: JobEvent, to id: JobID, _ state: inout State) -> Result<JobRecord, JobLifecycle.SkipReason> {
        guard let job = state.jobs[id] else { return .failure(JobLifecycle.SkipReason("no such job")) }
        let transition = JobLifecycle.transition(for: event)
        let result = transition.apply(to: job, leaseToken: state.tokens[id])
        guard case .success(let next) = result else { return result }
        state.jobs[id] = next
        switch transition.lease {
        case .unchanged: break
        case .granted: state.tokens[id] = Lease.newToken()
        case .released: state.tokens[id] = nil
        }
        if transition.writesHistory, case .finish(let finish) = event {
            state.history[id, default: []].append(finish.historyRecord)
        }
        return result
    }

    /// A claim of job `id` (which the caller chose as due) under `request`: the claimed view.
    static func claim(_ id: JobID, _ request: ClaimRequest, _ state: inout State) -> ClaimedJob? {
        guard case .success(let next) = apply(request.event, to: id, &state), let token = state.tokens[id] else { return nil }
        return ClaimedJob(record: next, leaseToken: token, now: request.now)
    }
}
