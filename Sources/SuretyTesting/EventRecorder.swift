import Foundation
import Surety
import Synchronization

/// Collects a worker's events so a test can await the one it needs instead of sleeping.
///
/// ```swift
/// let events = EventRecorder()
/// let worker = Worker(store: store, registry: registry, configuration: .init(onEvent: events.record))
/// try await events.next { if case .attemptFinished(id, _, .succeeded, _, _) = $0 { true } else { false } }
/// ```
public final class EventRecorder: Sendable {
    private struct Waiter {
        var predicate: @Sendable (WorkerEvent) -> Bool
        var continuation: CheckedContinuation<WorkerEvent, any Error>
        var id: Int
    }

    private struct State {
        var events: [WorkerEvent] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Pass this as `WorkerConfiguration.onEvent`.
    public var record: @Sendable (WorkerEvent) -> Void {
        { [self] event in self.append(event) }
    }

    /// Every event so far.
    public var events: [WorkerEvent] { state.withLock { $0.events } }

    private func append(_ event: WorkerEvent) {
        let ready = state.withLock { state -> [Waiter] in
            state.events.append(event)
            // Each predicate is evaluated exactly once per event (counting predicates keep state).
            var ready: [Waiter] = []
            var waiting: [Waiter] = []
            for waiter in state.waiters {
                if waiter.predicate(event) { ready.append(waiter) } else { waiting.append(waiter) }
            }
            state.waiters = waiting
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: event) }
    }

    /// The first event (already recorded or still to come) matching `predicate`.
    /// - Parameters:
    ///   - timeout: a real-time guard so a broken test fails instead of hanging; it is
    ///     not used to synchronise. Default: 30 s.
    ///   - predicate: which event to wait for.
    /// - Throws: ``TimedOut`` when nothing matched in time.
    @discardableResult
    public func first(timeout: Duration = .seconds(30), where predicate: @escaping @Sendable (WorkerEvent) -> Bool) async throws -> WorkerEvent {
        try await waitForMatch(timeout: timeout, skippingExisting: false, predicate)
    }

    /// The next event from now on matching `predicate` (events already recorded are ignored).
    @discardableResult
    public func next(timeout: Duration = .seconds(30), where predicate: @escaping @Sendable (WorkerEvent) -> Bool) async throws -> WorkerEvent {
        try await waitForMatch(timeout: timeout, skippingExisting: true, predicate)
    }

    /// Waits until `count` events matching `predicate` have been recorded in total.
    public func count(_ count: Int, timeout: Duration = .seconds(30), where predicate: @escaping @Sendable (WorkerEvent) -> Bool) async throws {
        // The scan of past events and the registration for future ones happen under one lock,
        // so no event is missed or counted twice.
        let seen = Mutex(0)
        _ = try await waitForMatch(timeout: timeout, skippingExisting: false) { event in
            guard predicate(event) else { return false }
            return seen.withLock { value in
                value += 1
                return value >= count
            }
        }
    }

    private func waitForMatch(timeout: Duration, skippingExisting: Bool, _ predicate: @escaping @Sendable (WorkerEvent) -> Bool) async throws -> WorkerEvent {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withThrowingTaskGroup(of: WorkerEvent?.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WorkerEvent, any Error>) in
                        let found = self.state.withLock { state -> WorkerEvent? in
                            if !skippingExisting, let event = state.events.first(where: predicate) { return event }
                            if Task.isCancelled { return nil }
                            state.waiters.append(Waiter(predicate: predicate, continuation: continuation, id: id))
                            return nil
                        }
                        if let found { continuation.resume(returning: found) } else if Task.isCancelled { continuation.resume(throwing: CancellationError()) }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state -> Waiter? in
                        guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.waiters.remove(at: index)
                    }
                    waiter?.continuation.resume(throwing: CancellationError())
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let event = first else { throw TimedOut(what: "no matching worker event within \(timeout); saw \(self.events.count) events") }
            return event
        }
    }
}

/// A bounded wait ran out: the thing a test awaited never happened.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out: \(what)" }
}

/// Waits until `condition` holds, re-checking after each of `pollEvery` (real time), failing
/// after `timeout`. For conditions in another process (a row in a shared SQLite file) where no
/// event can be awaited.
public func eventually(
    _ what: String, timeout: Duration = .seconds(30), pollEvery: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: pollEvery)
    }
    if try await condition() { return }
    throw TimedOut(what: what)
}
