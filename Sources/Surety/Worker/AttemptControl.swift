import Synchronization

/// How a worker stops one running attempt early, without a task, stream or timer of its own:
/// the attempt's task waits here until its body ends or a reason to stop arrives (from the
/// worker's single timeout loop, a heartbeat that lost the lease or found a cancel request, or
/// the shutdown), then cancels the body and waits for it to end.
final class AttemptControl: Sendable {
    /// Why an attempt was stopped before its body ended.
    enum Stop: Sendable, Equatable {
        case timedOut
        case leaseLost
        /// Heartbeats failed until the lease was about to expire: stopped before another worker
        /// can be given the job, released without using an attempt.
        case leaseNotRenewed
        case shutdown
        /// An operator (or the application) cancelled the running job; the note says who and why.
        case requested(String)
    }

    private struct State {
        var stop: Stop?
        var ended = false
        var bodyError: (any Error)?
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    /// Asks the attempt to stop; the first reason wins, and one that comes after the body ended
    /// is ignored. Returns whether this call stopped it.
    @discardableResult
    func stop(_ reason: Stop) -> Bool {
        let (stopped, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            guard !state.ended, state.stop == nil else { return (false, nil) }
            state.stop = reason
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(returning: true)
        return stopped
    }

    /// The body ended (returned `nil` or threw `error`).
    func bodyEnded(_ error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.ended = true
            state.bodyError = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }

    /// Returns `true` when the attempt must be stopped before its body ended, `false` when the
    /// body ended first. Called once, by the attempt's task.
    func waitForEndOrStop() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Bool? in
                if state.ended { return false }
                if state.stop != nil { return true }
                state.waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// The body's error and the reason it was stopped, once the body ended.
    var result: (bodyError: (any Error)?, stop: Stop?) {
        state.withLock { ($0.bodyError, $0.stop) }
    }
}
