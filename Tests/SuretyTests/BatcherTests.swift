@_spi(Batching) @testable import Surety
import SuretyTesting
import Synchronization
import Testing

/// The batching device's shell (continuations, the writer's wait) and the answer deadline.
@Suite("Batcher and answer deadline")
struct BatcherTests {
    @Test("a long-running writer answers every caller, drains at close and ends; a caller after close is refused", .timeLimit(.minutes(1)))
    func longRunningWriter() async {
        let batcher = Batcher<Int, Int?>(maximumWeight: 100) { nil }
        let groups = Mutex<[[Int]]>([])
        let writer = Task {
            while let group = await batcher.nextGroupOrWait() {
                groups.withLock { $0.append(group) }
                batcher.groupWritten(group.map { .answer($0 * 10) })
            }
        }
        let answers = await withTaskGroup(of: (Int, Int?).self) { callers in
            for value in 1...20 {
                callers.addTask { (value, await batcher.submit(value) {}) }
            }
            var answers: [Int: Int?] = [:]
            for await (value, answer) in callers { answers[value] = answer }
            return answers
        }
        #expect(answers.count == 20 && answers.allSatisfy { $0.value == $0.key * 10 }, "\(answers)")
        #expect(groups.withLock { $0.flatMap { $0 } }.sorted() == Array(1...20), "each written once")
        batcher.close()
        await writer.value
        #expect(await batcher.submit(99) {} == nil, "refused after close")
    }

    @Test("the deadline's timer is cancelled as soon as the answer arrives", .timeLimit(.minutes(1)))
    func timerCancelledOnAnswer() async {
        let (events, recorder) = AsyncStream.makeStream(of: String.self)
        let value = await AnswerDeadline.first(handingOver: { 42 }, or: .seconds(3600), sleep: { timeout in
            recorder.yield("armed")
            do {
                try await Task.sleep(for: timeout)
            } catch {
                recorder.yield("cancelled")
                throw error
            }
            recorder.yield("expired")
        }, fallback: { 0 })
        #expect(value == 42)
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == "armed")
        // Without the cancellation this waits for the hour-long timer and the time limit fails the test.
        #expect(await iterator.next() == "cancelled")
    }

    @Test("an operation that does not answer by the deadline gets the fallback, and its task is cancelled", .timeLimit(.minutes(1)))
    func fallbackAtDeadline() async {
        let cancelled = Gate()
        let value = await AnswerDeadline.first(handingOver: {
            // Answers only once cancelled, like a call that gives up on cancellation.
            await withTaskCancellationHandler { await cancelled.wait() } onCancel: { cancelled.open() }
            return 42
        }, or: .seconds(3600), sleep: { _ in }, fallback: { 0 })
        #expect(value == 0)
        await cancelled.wait()
    }
}
