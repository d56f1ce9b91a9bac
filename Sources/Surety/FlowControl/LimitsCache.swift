import Foundation
import Synchronization

/// The limits a store read last, kept for ``refreshInterval`` of the callers' time (claims and
/// enqueues pass their `now`), so a queue without limits costs no extra query. A store calls
/// ``invalidate()`` when it changes limits itself; other nodes see a change within the interval.
package final class LimitsCache: Sendable {
    /// How long limits read from the store are used before reading them again.
    package let refreshInterval: Duration
    private struct State {
        var limits: [String: QueueLimits] = [:]
        var loadedAt: Date?
    }
    private let state = Mutex(State())

    /// - Parameter refreshInterval: Default: 1 second.
    package init(refreshInterval: Duration = .seconds(1)) {
        self.refreshInterval = refreshInterval
    }

    /// The cached limits by queue, or `nil` when they must be read again (never read, older than
    /// the interval, invalidated, or `now` went back before the read).
    package func current(now: Date) -> [String: QueueLimits]? {
        state.withLock { state in
            guard let loadedAt = state.loadedAt, now >= loadedAt, now < loadedAt.adding(refreshInterval) else { return nil }
            return state.limits
        }
    }

    /// Keeps freshly read limits.
    package func store(_ limits: [QueueLimits], at now: Date) -> [String: QueueLimits] {
        var byQueue: [String: QueueLimits] = [:]
        for limit in limits { byQueue[limit.queue] = limit }
        state.withLock { state in
            state.limits = byQueue
            state.loadedAt = now
        }
        return byQueue
    }

    /// Forgets the cached limits: the next claim or enqueue reads them again.
    package func invalidate() {
        state.withLock { $0.loadedAt = nil }
    }
}
