import Foundation
import Synchronization

/// A worker's ``WorkerState`` under its one lock, shared by the worker's loops (``ClaimLoop``,
/// ``AttemptRunner``, ``Heartbeater``, ``TimeoutWatcher``), with the two wake-ups its events
/// call for. Each method applies one event under the lock and carries out the actions after
/// releasing it: attempts are stopped and loops woken outside the lock, and no other lock is
/// ever taken inside it.
final class SharedWorkerState: Sendable {
    private let state: Mutex<WorkerState>
    /// Wakes the claim loop (a slot freed, work enqueued in this process, the drain began) and
    /// the drain waiting for the last attempts.
    let claimWake = WakeSignal()
    /// Wakes the timeout watcher when an attempt starts with a deadline earlier than the one it
    /// sleeps to.
    let timeoutWake = WakeSignal()

    init(concurrency: Int, leaseDuration: Duration) {
        state = Mutex(WorkerState(concurrency: concurrency, leaseDuration: leaseDuration))
    }

    // MARK: Queries

    var isDraining: Bool { state.withLock { $0.isDraining } }
    var runningCount: Int { state.withLock { $0.runningCount } }
    /// See ``WorkerState/freeSlots``.
    var freeSlots: Int { state.withLock { $0.freeSlots } }
    var leasesToRenew: [Lease] { state.withLock { $0.leasesToRenew } }

    // MARK: Events

    /// See ``WorkerState/claimed(_:leaseSurelyHeldUntil:)``.
    func claimed(_ leases: [Lease], leaseSurelyHeldUntil: Date) -> [AttemptControl] {
        state.withLock { $0.claimed(leases, leaseSurelyHeldUntil: leaseSurelyHeldUntil) }
    }

    /// Records the attempt's deadline and wakes the timeout watcher if it sleeps to a later one.
    /// Returns whether the body may start (see ``WorkerState/StartAction/startBody``).
    func attemptStarting(_ lease: Lease, deadline: Date, now: Date) -> Bool {
        let action = state.withLock { $0.attemptStarting(lease, deadline: deadline, now: now) }
        if action.wakeTimeoutWatcher { timeoutWake.signal() }
        return action.startBody
    }

    /// The attempt's body ended: its slot is free, so the claim loop is woken.
    func bodyEnded(_ lease: Lease) {
        state.withLock { $0.bodyEnded(lease) }
        claimWake.signal()
    }

    /// The attempt is over; wakes the claim loop when that can make a claim larger or the worker
    /// is draining.
    func attemptEnded(_ lease: Lease) {
        if state.withLock({ $0.attemptEnded(lease) }) { claimWake.signal() }
    }

    /// See ``WorkerState/heartbeatAnswered(sent:lost:cancelRequests:until:)``; stops those
    /// attempts and returns what was stopped, for the log.
    func heartbeatAnswered(sent: [Lease], lost: [Lease], cancelRequests: [CancelRequest], until: Date) -> [WorkerState.StopAction] {
        let stops = state.withLock { $0.heartbeatAnswered(sent: sent, lost: lost, cancelRequests: cancelRequests, until: until) }
        for stop in stops { stop.control.stop(stop.reason) }
        return stops
    }

    /// See ``WorkerState/deadlinesChecked(now:)``; stops those attempts. Returns the leases this
    /// call stopped for not being renewed (for the log) and the next deadline.
    func deadlinesChecked(now: Date) -> (stoppedForLease: [Lease], next: Date?) {
        let check = state.withLock { $0.deadlinesChecked(now: now) }
        var stoppedForLease: [Lease] = []
        for stop in check.stops {
            // Logged only by the check that stopped it: a body that ignores the stop is seen
            // again by every later check.
            let stoppedNow = stop.control.stop(stop.reason)
            if stoppedNow, case .leaseNotRenewed = stop.reason { stoppedForLease.append(stop.lease) }
        }
        return (stoppedForLease, check.next)
    }

    /// A graceful shutdown began; returns whether it is the first request (the caller then wakes
    /// the claim loop, after telling the world).
    func drainBegun() -> Bool {
        state.withLock { $0.drainBegun() }
    }

    /// The worker's task was cancelled: stops claiming and stops every attempt as a shutdown.
    func cancelled() {
        let stops = state.withLock { $0.cancelled() }
        for stop in stops { stop.control.stop(stop.reason) }
        claimWake.signal()
    }

    /// Stops every attempt for `reason`; returns how many the worker held.
    @discardableResult
    func stopAll(_ reason: AttemptControl.Stop) -> Int {
        let stops = state.withLock { $0.stopAll(reason) }
        for stop in stops { stop.control.stop(stop.reason) }
        return stops.count
    }
}
