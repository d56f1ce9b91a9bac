import Synchronization

/// The one batching device of Surety: callers submit elements and wait for their answers; one
/// writer at a time takes the queued elements as a group, writes them, and answers each. A lone
/// caller is written at once; callers that arrive during a write share the next one.
///
/// A thin shell: the rules are ``BatchStateMachine``'s, held under one lock here; continuations
/// are resumed outside it. The users differ only in who writes and how:
/// - ``GroupCommit`` (enqueues, PostgreSQL effect records) starts a writer task per burst that
///   writes groups until none is queued (``nextGroup()``);
/// - the worker's `CompletionBatcher` runs one writer loop for its lifetime that waits for work
///   (``nextGroupOrWait()``) and may queue outcomes again for a retry (``BatchOutcome/retry``);
/// - SQLite's write groups hand each group to GRDB's writer queue as one transaction.
///
/// Waiting callers are not cancellable: a submitted element is written (or refused) whatever
/// happens to the caller's task, and its caller gets the answer.
///
/// Why `@_spi(Batching) public` and `@inlinable` rather than `package`: SQLite's write groups
/// (another module) put every write of the store through this device, so it must be specialized
/// there. Swift 6.3 did not specialize `@inlinable package` code in another module; unspecialized,
/// each write paid for generic metadata lookups, 8.5% of SQLite's one-at-a-time enqueue rate
/// (docs/benchmarks.md, "The batching device across modules"). The SPI keeps it out of the
/// public API an application sees: only `@_spi(Batching) import Surety` reaches it.
@_spi(Batching) public final class Batcher<Element: Sendable, Answer: Sendable>: Sendable {
    public typealias Machine = BatchStateMachine<Element, CheckedContinuation<Answer, Never>, CheckedContinuation<Void, Never>>

    @usableFromInline internal let machine: Mutex<Machine>
    @usableFromInline internal let closedAnswer: @Sendable () -> Answer

    /// - Parameters:
    ///   - maximumWeight: the most weight one group takes (a heavier element goes alone).
    ///   - closedAnswer: the answer of an element submitted after ``close()``.
    @inlinable public init(maximumWeight: Int, closedAnswer: @escaping @Sendable () -> Answer) {
        self.machine = Mutex(Machine(maximumWeight: maximumWeight))
        self.closedAnswer = closedAnswer
    }

    /// Elements waiting for a group (for tests).
    @inlinable public var waitingCount: Int { machine.withLock { $0.waitingCount } }

    /// Queues `element` and waits for its answer. When no writer runs, `startWriter` is called
    /// (outside the lock, before this call suspends) and must start one; a long-running writer
    /// that is parked is woken instead.
    @inlinable public func submit(_ element: Element, weight: Int = 1, startWriter: () -> Void) async -> Answer {
        await withCheckedContinuation { (waiter: CheckedContinuation<Answer, Never>) in
            switch machine.withLock({ $0.submit(element, weight: weight, waiter: waiter) }) {
            case .none: break
            case .startWriter: startWriter()
            case .wakeWriter(let writer): writer.resume()
            case .refuse(let waiter): waiter.resume(returning: closedAnswer())
            }
        }
    }

    /// For a writer started per burst: the next group to write, or `nil` when nothing is queued
    /// (the writer then stops; the next submit starts another).
    @inlinable public func nextGroup() -> [Element]? {
        guard case .write(let group) = machine.withLock({ $0.nextGroup() }) else { return nil }
        return group
    }

    /// For a long-running writer: the next group to write, waiting while nothing is queued;
    /// `nil` once the device is closed and drained. After being woken it yields once, so
    /// elements submitted together are taken together.
    @inlinable public func nextGroupOrWait() async -> [Element]? {
        while true {
            // Without suspending when a group is queued already (the busy case).
            if let group = machine.withLock({ $0.queuedGroup() }) { return group }
            var group: [Element]?
            var finished = false
            await withCheckedContinuation { (writer: CheckedContinuation<Void, Never>) in
                switch machine.withLock({ $0.nextGroup(parking: writer) }) {
                case .write(let elements):
                    group = elements
                    writer.resume()
                case .idle, .finished:
                    finished = true
                    writer.resume()
                case .parked:
                    break
                }
            }
            if let group { return group }
            if finished { return nil }
            await Task.yield()
        }
    }

    /// The writer wrote the group it took: one outcome per element, in the group's order.
    /// Resumes the answered callers; the elements to retry are queued again, at the head.
    @inlinable public func groupWritten(_ outcomes: [BatchOutcome<Answer>]) {
        let answered = machine.withLock { $0.groupWritten(outcomes) }
        for (waiter, answer) in answered { waiter.resume(returning: answer) }
    }

    /// Refuses new elements from now on; the writer drains what is queued, then finishes.
    @inlinable public func close() {
        if case .wakeWriter(let writer) = machine.withLock({ $0.close() }) { writer.resume() }
    }
}
