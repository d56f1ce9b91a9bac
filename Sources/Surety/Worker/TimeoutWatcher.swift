import Foundation
import Logging

/// Enforces every running attempt's timeout and lease with one loop instead of a timer per job:
/// it sleeps until the earliest deadline among running attempts, stops the attempts past theirs,
/// and sleeps again; an attempt that starts with an earlier deadline than the one it sleeps to
/// wakes it. An attempt whose lease was not renewed in time (heartbeats failing: a partition, a
/// store outage) is stopped a margin before the lease can expire (a sixth of the lease, 5 s of
/// the default 30 s), so it does not run on while the rescuer hands the job to another worker.
struct TimeoutWatcher: Sendable {
    let configuration: WorkerConfiguration
    let clock: any SuretyClock
    let logger: Logger
    let state: SharedWorkerState

    func run() async {
        while !Task.isCancelled {
            let (stoppedForLease, next) = state.deadlinesChecked(now: clock.now())
            for lease in stoppedForLease {
                logger.warning("lease not renewed in time (heartbeats failing); stopping the job before its lease can expire", metadata: ["job_id": "\(lease.jobID)"])
                configuration.onEvent?(.leaseLost(lease.jobID))
            }
            if let next {
                await state.timeoutWake.wait(until: next, clock: clock)
            } else {
                await state.timeoutWake.wait()
            }
        }
    }
}
