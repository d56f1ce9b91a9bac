import Foundation
import Logging

/// Keeps the worker's leases alive: every heartbeat interval it renews the lease of every attempt
/// the worker holds (finishing ones too), stops the attempts whose lease the store says is lost,
/// and, on a store that reports them (``CancelRequestStore``), the running jobs an operator
/// asked to cancel. A renewed lease moves the attempt's "surely held until" forward, which the
/// ``TimeoutWatcher`` enforces when heartbeats keep failing.
struct Heartbeater: Sendable {
    let store: any JobStore
    let configuration: WorkerConfiguration
    let clock: any SuretyClock
    let logger: Logger
    let state: SharedWorkerState

    func run() async {
        let interval = configuration.effectiveHeartbeatInterval
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { return }
            let leases = state.leasesToRenew
            guard !leases.isEmpty else { continue }
            do {
                let sentAt = clock.now()
                let until = sentAt.adding(configuration.leaseDuration)
                let lost: [Lease]
                var cancelRequests: [CancelRequest] = []
                if let cancellable = store as? any CancelRequestStore {
                    let report = try await cancellable.heartbeatReportingCancellations(leases, now: sentAt, until: until)
                    lost = report.lost
                    cancelRequests = report.cancelRequested
                } else {
                    lost = try await store.heartbeat(leases, now: sentAt, until: until)
                }
                let stopped = state.heartbeatAnswered(sent: leases, lost: lost, cancelRequests: cancelRequests, until: until)
                report(stopped, cancelRequests: cancelRequests)
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                configuration.onEvent?(.storeError("heartbeat: \(error)"))
            }
        }
    }

    /// Logs and reports the attempts a heartbeat's answer stopped.
    private func report(_ stopped: [WorkerState.StopAction], cancelRequests: [CancelRequest]) {
        for stop in stopped {
            let jobID = stop.lease.jobID
            switch stop.reason {
            case .requested:
                // Cooperative: the job sees task cancellation; its attempt is recorded
                // `cancelled` when it ends by throwing.
                let actor = cancelRequests.first { $0.lease == stop.lease }?.actor ?? ""
                logger.notice("cancel requested; cancelling the job's task", metadata: [
                    "job_id": "\(jobID)", "cancelled_by": "\(actor)",
                ])
                configuration.onEvent?(.cancelRequested(jobID))
            default:
                logger.warning("lease lost; cancelling the job's task (its outcome will be refused)", metadata: ["job_id": "\(jobID)"])
                configuration.onEvent?(.leaseLost(jobID))
            }
        }
    }
}
