import Synchronization

/// Fans "jobs may be claimable" out to every in-process subscriber: the building block stores use
/// to implement ``AvailabilitySignalStore``. Each subscriber's stream keeps at most one pending
/// signal, so a burst of enqueues wakes an idle worker once.
package final class AvailabilityBroadcaster: Sendable {
    private struct Subscribers {
        var continuations: [Int: AsyncStream<Void>.Continuation] = [:]
        var next = 0
    }

    private let subscribers = Mutex(Subscribers())

    package init() {}

    deinit { finishAll() }

    /// A new subscriber's stream; it ends when the broadcaster is released or `finishAll()` runs.
    package func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let key = subscribers.withLock { state in
            defer { state.next += 1 }
            state.continuations[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }

    /// Wakes every subscriber. Call only after the commit that made jobs available.
    package func signal() {
        let continuations = subscribers.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield() }
    }

    /// Ends every subscriber's stream.
    package func finishAll() {
        let continuations = subscribers.withLock { state in
            defer { state.continuations = [:] }
            return Array(state.continuations.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}
