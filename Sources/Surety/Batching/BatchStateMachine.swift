/// The state of one batching device, as a value: requests wait in arrival order, one writer at
/// a time takes them in groups, and each request's waiter gets its own answer. No I/O, no
/// locks, no continuations: events go in (`submit`, `nextGroup`, `groupWritten`, `close`) and
/// each returns what the device must do (start or wake the writer, write a group, resume these
/// waiters with these answers). ``Batcher`` keeps it under one lock and performs the actions
/// outside it; the state machine is tested alone by sequences of events (BatchStateMachineTests).
///
/// The rules every user of the device shares:
/// - a request that finds the writer idle is written at once, alone (no added latency);
/// - requests that arrive while a group is being written wait and go together in the next
///   group, in arrival order, up to `maximumWeight` (a request heavier than that goes alone);
/// - the writer answers every request of its group, in order; a request it cannot answer yet
///   (`retry`) goes back to the head of the queue, ahead of newer requests;
/// - after `close()` new requests are refused at once and the writer drains what is queued.
///
/// `Element` is what a request asks to write, `Waiter` whatever resumes its caller, `Writer`
/// whatever wakes a writer that waits for work (for a long-running writer loop; a writer that
/// is started per burst never parks).
@_spi(Batching) public struct BatchStateMachine<Element, Waiter, Writer> {
    @usableFromInline internal struct Request {
        @usableFromInline var element: Element
        @usableFromInline var weight: Int
        @usableFromInline var waiter: Waiter
        @inlinable init(element: Element, weight: Int, waiter: Waiter) {
            self.element = element
            self.weight = weight
            self.waiter = waiter
        }
    }

    @usableFromInline internal enum WriterState {
        /// No writer runs: the next request must start one.
        case none
        /// A writer runs (or was told to start) and will ask for the next group.
        case running
        /// A long-running writer waits for work.
        case parked(Writer)
    }

    /// Requests waiting for a group, oldest first.
    @usableFromInline internal var queue: [Request] = []
    /// The group being written, in its order.
    @usableFromInline internal var inFlight: [Request] = []
    @usableFromInline internal var writer = WriterState.none
    @usableFromInline internal var closed = false
    /// The most weight one group takes (a heavier request is written alone). At least 1.
    public let maximumWeight: Int

    @inlinable public init(maximumWeight: Int) {
        self.maximumWeight = max(1, maximumWeight)
    }

    /// Requests waiting for a group (not counting the group being written).
    @inlinable public var waitingCount: Int { queue.count }

    /// Whether a group is being written (taken and not yet answered).
    @inlinable public var isWriting: Bool { !inFlight.isEmpty }

    public enum SubmitAction {
        /// Queued; the running writer will take it.
        case none
        /// No writer ran: start one (it is counted as running from now on).
        case startWriter
        /// Resume this parked writer; it asks for the group itself.
        case wakeWriter(Writer)
        /// The device is closed: answer this waiter at once.
        case refuse(Waiter)
    }

    /// A caller asks for `element` to be written.
    @inlinable public mutating func submit(_ element: Element, weight: Int = 1, waiter: Waiter) -> SubmitAction {
        guard !closed else { return .refuse(waiter) }
        queue.append(Request(element: element, weight: max(0, weight), waiter: waiter))
        switch writer {
        case .running:
            return .none
        case .none:
            writer = .running
            return .startWriter
        case .parked(let parked):
            writer = .running
            return .wakeWriter(parked)
        }
    }

    public enum NextAction {
        /// Write these elements (in this order) as one group, then report ``groupWritten(_:)``.
        case write([Element])
        /// Nothing queued: the writer stops (a writer started per burst), or waits parked.
        case idle
        /// The writer was parked (it passed itself): wait to be woken, then ask again.
        case parked
        /// Closed and drained: the writer ends for good.
        case finished
    }

    /// The writer asks for its next group. A long-running writer passes `parking`, which is kept
    /// when there is nothing to write; a writer without one stops instead.
    @inlinable public mutating func nextGroup(parking: Writer? = nil) -> NextAction {
        precondition(inFlight.isEmpty, "BatchStateMachine: the previous group was not answered")
        guard !queue.isEmpty else {
            if closed {
                writer = .none
                return .finished
            }
            if let parking {
                writer = .parked(parking)
                return .parked
            }
            writer = .none
            return .idle
        }
        return .write(takeGroup())
    }

    /// A long-running writer's look before it would park: the next group if one is queued
    /// (as ``nextGroup(parking:)`` would give it); `nil`, changing nothing, if none is.
    @inlinable public mutating func queuedGroup() -> [Element]? {
        precondition(inFlight.isEmpty, "BatchStateMachine: the previous group was not answered")
        guard !queue.isEmpty else { return nil }
        return takeGroup()
    }

    /// Takes the oldest requests up to the maximum weight (at least one) as the group in flight.
    @inlinable internal mutating func takeGroup() -> [Element] {
        var count = 0
        var weight = 0
        while count < queue.count, count == 0 || weight + queue[count].weight <= maximumWeight {
            weight += queue[count].weight
            count += 1
        }
        inFlight = Array(queue.prefix(count))
        queue.removeFirst(count)
        writer = .running
        return inFlight.map(\.element)
    }

    /// The writer wrote the group it took; `outcomes` holds one outcome per element, in the
    /// group's order. Returns the waiters to resume and their answers (in the group's order);
    /// the requests to retry are queued again.
    @inlinable public mutating func groupWritten<Answer>(_ outcomes: [BatchOutcome<Answer>]) -> [(Waiter, Answer)] {
        precondition(outcomes.count == inFlight.count, "BatchStateMachine: \(outcomes.count) outcomes for a group of \(inFlight.count)")
        var answered: [(Waiter, Answer)] = []
        answered.reserveCapacity(outcomes.count)
        var retried: [Request] = []
        var retriedLast: [Request] = []
        for (request, outcome) in zip(inFlight, outcomes) {
            switch outcome {
            case .answer(let answer): answered.append((request.waiter, answer))
            case .retry: retried.append(request)
            case .retryLast: retriedLast.append(request)
            }
        }
        inFlight = []
        if !retried.isEmpty || !retriedLast.isEmpty { queue.insert(contentsOf: retried + retriedLast, at: 0) }
        return answered
    }

    public enum CloseAction {
        case none
        /// Resume this parked writer: it drains the queue and finishes.
        case wakeWriter(Writer)
    }

    /// No new requests: later ones are refused; what is queued is still written.
    @inlinable public mutating func close() -> CloseAction {
        closed = true
        guard case .parked(let parked) = writer else { return .none }
        writer = .running
        return .wakeWriter(parked)
    }
}

/// What a batching device's writer did with one request of its group (``BatchStateMachine``).
@_spi(Batching) public enum BatchOutcome<Answer> {
    /// Done: resume the caller with this answer.
    case answer(Answer)
    /// Not written: queue it again, at the head, ahead of newer requests.
    case retry
    /// Not written: queue it again at the head, behind the group's `retry` requests (one that
    /// was refused goes last, so it does not hide the others next time).
    case retryLast
}

@_spi(Batching) extension BatchOutcome: Sendable where Answer: Sendable {}
