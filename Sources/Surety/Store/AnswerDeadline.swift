import Synchronization

/// Waits for an operation's answer at most a given time, without being able to stop the
/// operation: it runs in a task of its own, and past the deadline the caller goes on with a
/// fallback value while the operation's task is cancelled and left to end when it can. For
/// calls that can wait for ever and ignore cancellation (a statement postgres-nio wrote to a
/// connection that closed under it is never answered). Structured concurrency cannot express
/// "stop waiting for a child that will not end", hence the two tasks and the continuation.
/// Package access: the stores use it, applications do not.
package enum AnswerDeadline {
    /// The operation's value if it answers within `timeout`, else `fallback()`.
    package static func first<T: Sendable>(
        of operation: @escaping @Sendable () async -> T, or timeout: Duration,
        fallback: @escaping @Sendable () -> T
    ) async -> T {
        await first(handingOver: operation, or: timeout, fallback: fallback)
    }

    /// ``first(of:or:fallback:)`` for an operation that is not `Sendable` but handed over: the
    /// caller gives it up (`sending`), and it runs in the operation's task alone.
    ///
    /// The timer is cancelled as soon as the answer comes, so no sleeping task outlives a call
    /// that answered (at thousands of calls a second, a timer sleeping out its whole timeout per
    /// call would pile up). Past the deadline the operation's task is cancelled and left to end
    /// when it can.
    ///
    /// `sleep` is the timer's wait (tests pass their own to see when it ends).
    package static func first<T: Sendable>(
        handingOver operation: sending @escaping () async -> T, or timeout: Duration,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        fallback: @escaping @Sendable () -> T
    ) async -> T {
        let once = ResumeOnce<T>()
        let work = Task {
            let value = await operation()
            if once.resume(value) { once.cancelTimer() }
        }
        once.holdTimer(Task {
            do { try await sleep(timeout) } catch { return }
            if once.resume(fallback()) { work.cancel() }
        })
        return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            once.set(continuation)
        }
    }

    /// A continuation resumed by whichever of two tasks comes first.
    final class ResumeOnce<T: Sendable>: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<T, Never>?, early: T?, done: Bool)>((nil, nil, false))

        func set(_ continuation: CheckedContinuation<T, Never>) {
            let early = state.withLock { state -> T? in
                if let early = state.early { return early }
                state.continuation = continuation
                return nil
            }
            if let early { continuation.resume(returning: early) }
        }

        private let timer = Mutex<Task<Void, Never>?>(nil)

        /// Keeps the deadline's timer, to cancel it when the answer comes; cancels it at once
        /// when the answer came already.
        func holdTimer(_ task: Task<Void, Never>) {
            timer.withLock { $0 = task }
            if state.withLock({ $0.done }) { cancelTimer() }
        }

        func cancelTimer() { timer.withLock { $0 }?.cancel() }

        /// Resumes with `value` unless already resumed; returns whether this call did.
        @discardableResult
        func resume(_ value: T) -> Bool {
            let continuation = state.withLock { state -> CheckedContinuation<T, Never>?? in
                guard !state.done else { return .none }
                state.done = true
                guard let continuation = state.continuation else {
                    state.early = value
                    return .some(nil)
                }
                state.continuation = nil
                return .some(continuation)
            }
            switch continuation {
            case .none: return false
            case .some(let continuation):
                continuation?.resume(returning: value)
                return true
            }
        }
    }
}
