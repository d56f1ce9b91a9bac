@_spi(Batching) @testable import Surety
import Testing

/// The batching device's rules as sequences of events, with no I/O, tasks or clocks: elements
/// and waiters are strings, answers are numbers.
@Suite("Batch state machine")
struct BatchStateMachineTests {
    typealias Machine = BatchStateMachine<String, String, String>

    struct Failed: Error, Equatable {}

    /// The elements of a `write` action, or `nil` for any other action.
    static func written(_ action: Machine.NextAction) -> [String]? {
        if case .write(let group) = action { return group }
        return nil
    }

    static func isIdle(_ action: Machine.NextAction) -> Bool {
        if case .idle = action { return true }
        return false
    }

    static func starts(_ action: Machine.SubmitAction) -> Bool {
        if case .startWriter = action { return true }
        return false
    }

    static func queued(_ action: Machine.SubmitAction) -> Bool {
        if case .none = action { return true }
        return false
    }

    @Test("a lone caller is written at once and alone; the writer then stops and the next caller starts another")
    func loneCaller() {
        var machine = Machine(maximumWeight: 10)
        #expect(Self.starts(machine.submit("a", waiter: "A")))
        #expect(Self.written(machine.nextGroup()) == ["a"])
        let answered = machine.groupWritten([BatchOutcome.answer(1)])
        #expect(answered.map(\.0) == ["A"] && answered.map(\.1) == [1])
        #expect(Self.isIdle(machine.nextGroup()))
        #expect(Self.starts(machine.submit("b", waiter: "B")), "the writer stopped: the next caller starts one")
    }

    @Test("callers that arrive during a write wait and share the next one; each gets its own answer, in order")
    func groupedDuringWrite() {
        var machine = Machine(maximumWeight: 10)
        #expect(Self.starts(machine.submit("a", waiter: "A")))
        #expect(Self.written(machine.nextGroup()) == ["a"])
        #expect(machine.isWriting)
        for name in ["b", "c", "d"] {
            #expect(Self.queued(machine.submit(name, waiter: name.uppercased())), "a write runs: \(name) waits")
        }
        #expect(machine.waitingCount == 3)
        #expect(machine.groupWritten([BatchOutcome.answer(1)]).map(\.0) == ["A"])
        #expect(Self.written(machine.nextGroup()) == ["b", "c", "d"])
        let answered = machine.groupWritten([BatchOutcome.answer(2), .answer(3), .answer(4)])
        #expect(answered.map(\.0) == ["B", "C", "D"])
        #expect(answered.map(\.1) == [2, 3, 4])
        #expect(Self.isIdle(machine.nextGroup()))
    }

    @Test("a group takes at most the maximum weight; a heavier caller is written alone")
    func maximumWeight() {
        var machine = Machine(maximumWeight: 3)
        _ = machine.submit("a", waiter: "A")
        #expect(Self.written(machine.nextGroup()) == ["a"])
        _ = machine.submit("b", weight: 1, waiter: "B")
        _ = machine.submit("c", weight: 2, waiter: "C")
        _ = machine.submit("d", weight: 1, waiter: "D")
        _ = machine.submit("e", weight: 5, waiter: "E")
        _ = machine.submit("f", weight: 1, waiter: "F")
        var groups: [[String]] = []
        _ = machine.groupWritten([BatchOutcome.answer(0)])
        while let group = Self.written(machine.nextGroup()) {
            groups.append(group)
            _ = machine.groupWritten(group.map { _ in BatchOutcome.answer(0) })
        }
        #expect(groups == [["b", "c"], ["d"], ["e"], ["f"]])
    }

    @Test("a failed group write answers every caller of the group with the failure; the next group is written")
    func failedGroup() {
        var machine = BatchStateMachine<String, String, Never>(maximumWeight: 10)
        _ = machine.submit("a", waiter: "A")
        guard case .write = machine.nextGroup() else { Issue.record("no write"); return }
        _ = machine.submit("b", waiter: "B")
        _ = machine.submit("c", waiter: "C")
        _ = machine.groupWritten([BatchOutcome<Result<Int, Failed>>.answer(.success(1))])
        guard case .write(let group) = machine.nextGroup() else { Issue.record("no second write"); return }
        #expect(group == ["b", "c"])
        let failure = Result<Int, Failed>.failure(Failed())
        let answered = machine.groupWritten(group.map { _ in BatchOutcome.answer(failure) })
        #expect(answered.map(\.0) == ["B", "C"])
        #expect(answered.allSatisfy { $0.1 == failure })
        _ = machine.submit("d", waiter: "D")
        guard case .write(let next) = machine.nextGroup() else { Issue.record("the device stopped after a failure"); return }
        #expect(next == ["d"])
    }

    @Test("requests to retry go back to the head of the queue, retries before retries-last, ahead of newer requests")
    func retries() {
        var machine = Machine(maximumWeight: 10)
        _ = machine.submit("a", waiter: "A")
        _ = machine.submit("b", waiter: "B")
        _ = machine.submit("c", waiter: "C")
        #expect(Self.written(machine.nextGroup()) == ["a", "b", "c"])
        _ = machine.submit("d", waiter: "D")
        let answered = machine.groupWritten([BatchOutcome.retryLast, .answer(2), .retry])
        #expect(answered.map(\.0) == ["B"], "only the answered caller resumes")
        #expect(Self.written(machine.nextGroup()) == ["c", "a", "d"])
    }

    @Test("a long-running writer parks when idle and is woken by the next caller, who is queued for it")
    func parkedWriter() {
        var machine = Machine(maximumWeight: 10)
        guard case .parked = machine.nextGroup(parking: "W") else { Issue.record("the writer did not park"); return }
        guard case .wakeWriter(let writer) = machine.submit("a", waiter: "A") else { Issue.record("the parked writer was not woken"); return }
        #expect(writer == "W")
        #expect(Self.queued(machine.submit("b", waiter: "B")), "the writer is awake: no second wake-up")
        #expect(Self.written(machine.nextGroup(parking: "W")) == ["a", "b"])
    }

    @Test("a writer's look before parking takes a queued group, and changes nothing when none is queued")
    func queuedGroup() {
        var machine = Machine(maximumWeight: 10)
        #expect(machine.queuedGroup() == nil)
        guard case .parked = machine.nextGroup(parking: "W") else { Issue.record("the writer did not park"); return }
        guard case .wakeWriter = machine.submit("a", waiter: "A") else { Issue.record("the parked writer was not woken"); return }
        _ = machine.submit("b", waiter: "B")
        #expect(machine.queuedGroup() == ["a", "b"])
        #expect(machine.groupWritten([BatchOutcome.answer(1), .answer(2)]).map(\.0) == ["A", "B"])
        #expect(machine.queuedGroup() == nil)
        #expect(Self.queued(machine.submit("c", waiter: "C")), "the writer still counts as running: it parks or looks again")
    }

    @Test("closing refuses new callers, lets the writer drain what is queued, then finishes it")
    func close() {
        var machine = Machine(maximumWeight: 10)
        _ = machine.submit("a", waiter: "A")
        #expect(Self.written(machine.nextGroup(parking: "W")) == ["a"])
        _ = machine.submit("b", waiter: "B")
        guard case .none = machine.close() else { Issue.record("a running writer was woken"); return }
        guard case .refuse(let refused) = machine.submit("c", waiter: "C") else { Issue.record("a caller was queued after close"); return }
        #expect(refused == "C")
        _ = machine.groupWritten([BatchOutcome.answer(1)])
        #expect(Self.written(machine.nextGroup(parking: "W")) == ["b"], "what was queued before close is written")
        _ = machine.groupWritten([BatchOutcome.answer(2)])
        guard case .finished = machine.nextGroup(parking: "W") else { Issue.record("the writer did not finish"); return }
    }

    @Test("closing wakes a parked writer, which finishes")
    func closeWakesParkedWriter() {
        var machine = Machine(maximumWeight: 10)
        guard case .parked = machine.nextGroup(parking: "W") else { Issue.record("the writer did not park"); return }
        guard case .wakeWriter(let writer) = machine.close() else { Issue.record("the parked writer was not woken"); return }
        #expect(writer == "W")
        guard case .finished = machine.nextGroup(parking: "W") else { Issue.record("the writer did not finish"); return }
    }
}
