import Foundation

extension MemoryStore: CancelRequestStore {
    public func requestCancellation(_ ids: [JobID], action: OperatorAction) async throws -> CancellationResult {
        state.withLock { state in
            let result = Self.requestCancellation(ids, action: action, &state)
            _ = Self.advanceWorkflows(&state, ended: result.cancelled, at: action.at)
            return result
        }
    }

    static func requestCancellation(_ ids: [JobID], action: OperatorAction, _ state: inout State) -> CancellationResult {
        var result = CancellationResult()
        for id in ids {
            guard let job = state.jobs[id] else {
                result.skipped.append(.init(id: id, reason: "no such job"))
                continue
            }
            if job.state == .running {
                state.cancelRequests[id] = action
                state.audit[id, default: []].append(AuditRecord(jobID: id, action: "cancel_request", actor: action.actor, reason: action.reason, at: action.at))
                result.requested.append(id)
                continue
            }
            switch Self.apply(.cancel(action), to: id, &state) {
            case .success:
                state.audit[id, default: []].append(AuditRecord(jobID: id, action: "cancel", actor: action.actor, reason: action.reason, at: action.at))
                result.cancelled.append(id)
            case .failure(let skip):
                result.skipped.append(.init(id: id, reason: skip.message))
            }
        }
        return result
    }

    public func heartbeatReportingCancellations(_ leases: [Lease], until: Date) async throws -> HeartbeatReport {
        state.withLock { state in
            var report = HeartbeatReport()
            for lease in leases {
                guard var job = state.jobs[lease.jobID],
                      JobLifecycle.holdsLease(job, currentToken: state.tokens[lease.jobID], lease: lease) else {
                    report.lost.append(lease)
                    continue
                }
                job.leaseUntil = until
                state.jobs[lease.jobID] = job
                if let request = state.cancelRequests[lease.jobID] {
                    report.cancelRequested.append(CancelRequest(lease: lease, actor: request.actor, reason: request.reason, at: request.at))
                }
            }
            return report
        }
    }
}
