import Foundation
import Synchronization

/// The exit of a child `Process`, awaitable from async code, with or without a deadline.
///
/// `Process.waitUntilExit()` blocks a thread; this bridges `terminationHandler` to any number of
/// async waiters instead. Install it before `run()`:
///
/// ```swift
/// let process = Process()
/// process.executableURL = URL(fileURLWithPath: "/bin/true")
/// let exit = ProcessExit(of: process)
/// try process.run()
/// let outcome = await exit.wait(timeout: .seconds(5)) // nil when it is still running then
/// ```
///
/// Keep the `Process` alive until it has exited: Foundation does not call the termination
/// handler of a released `Process`.
public final class ProcessExit: Sendable {
    /// How the process ended.
    public struct Outcome: Sendable, Equatable, CustomStringConvertible {
        /// The exit status, or the number of the signal that ended it when `signalled`.
        public var status: Int32
        /// Whether a signal ended the process (`status` is then the signal's number).
        public var signalled: Bool
        /// Whether it exited on its own with status 0.
        public var succeeded: Bool { status == 0 && !signalled }

        public init(status: Int32, signalled: Bool) {
            self.status = status
            self.signalled = signalled
        }

        public var description: String { signalled ? "killed by signal \(status)" : "exited with status \(status)" }
    }

    private struct State {
        var outcome: Outcome?
        var waiters: [UInt64: CheckedContinuation<Outcome?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Waits whose deadline passed before their continuation was registered.
        var expired: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// Sets `process.terminationHandler` (replacing any other) to record the exit here.
    public init(of process: Process) {
        process.terminationHandler = { [self] finished in
            record(Outcome(status: finished.terminationStatus, signalled: finished.terminationReason == .uncaughtSignal))
        }
    }

    /// How the process ended, or `nil` while it runs.
    public var outcome: Outcome? { state.withLock { $0.outcome } }

    /// Whether the process has exited.
    public var hasExited: Bool { outcome != nil }

    private func newWaiter() -> UInt64 {
        state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
    }

    /// Parks waiter `id` until the exit (its outcome) or its deadline (`nil`, from
    /// ``wait(timeout:)``'s timer), whichever comes first.
    private func register(_ id: UInt64) async -> Outcome? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome?? in
                if let outcome = state.outcome { return .some(outcome) }
                if state.expired.remove(id) != nil { return .some(nil) }
                state.waiters[id] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func record(_ outcome: Outcome) {
        let waiters = state.withLock { state -> [CheckedContinuation<Outcome?, Never>] in
            state.outcome = outcome
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    /// Waits until the process exits.
    public func wait() async -> Outcome {
        let id = newWaiter()
        // Without a deadline only the exit resumes the continuation, so it is never `nil`.
        while true {
            if let outcome = await register(id) { return outcome }
        }
    }

    /// Waits until the process exits or `timeout` passes (then `nil`; the process is left
    /// running). Cancelling the calling task ends the wait early with `nil` too.
    public func wait(timeout: Duration) async -> Outcome? {
        if let outcome { return outcome }
        let id = newWaiter()
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await self.register(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Time is up (or the wait was cancelled): release the other child's continuation.
                let waiter = self.state.withLock { state -> CheckedContinuation<Outcome?, Never>? in
                    if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                    if state.outcome == nil { state.expired.insert(id) }
                    return nil
                }
                waiter?.resume(returning: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? outcome
        }
    }
}
