import Foundation
import Logging
import Surety
import Synchronization

/// One drain by the real ``Surety/Worker`` runtime, in the process that calls it (a child
/// `surety bench` process, so its memory and CPU time are the worker's alone): the worker starts
/// on a store holding `expected` due jobs, and the time runs from the first attempt's start to the
/// moment the last outcome was durably recorded (the worker reports an attempt finished only after
/// the store committed it).
enum BenchDrain {
    struct Result: Codable, Sendable {
        var jobs: Int
        var seconds: Double
        var cpuSeconds: Double
        var peakKiB: Int
        var beforeKiB: Int
        /// Attempts that did not end completed (should be none).
        var notCompleted: Int
    }

    /// The prefix of the line a child prints its result on.
    static let resultPrefix = "BENCH-DRAIN "

    static func run(store: any CommandStore, concurrency: Int, expected: Int, timeout: Duration, logger: Logger) async throws -> Result {
        let progress = Progress(expected: expected)
        let configuration = WorkerConfiguration(
            queues: ["default"], concurrency: concurrency, onEvent: { progress.record($0) }
        )
        let worker = Worker(store: store, registry: BenchWorkload.registry, configuration: configuration, logger: logger)
        let beforeKiB = ProcessUsage.statusKiB("VmRSS") ?? 0
        let cpuBefore = ProcessUsage.cpuSeconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                progress.giveUp()
            }
            await progress.waitUntilDone()
            worker.beginDrain()
            _ = try await group.next()
            group.cancelAll()
        }
        let cpu = ProcessUsage.cpuSeconds() - cpuBefore
        let state = progress.snapshot()
        guard state.finished >= expected, let first = state.firstStart, let last = state.lastFinish else {
            throw SuretyError(.storeUnavailable, "the drain did not finish: \(state.finished) of \(expected) jobs after \(timeout)")
        }
        let elapsed = first.duration(to: last)
        return Result(
            jobs: state.finished, seconds: elapsed.benchSeconds,
            cpuSeconds: cpu, peakKiB: ProcessUsage.statusKiB("VmHWM") ?? 0, beforeKiB: beforeKiB,
            notCompleted: state.notCompleted
        )
    }

    /// Counts finished attempts from the worker's events.
    final class Progress: Sendable {
        struct State {
            var firstStart: ContinuousClock.Instant?
            var lastFinish: ContinuousClock.Instant?
            var finished = 0
            var notCompleted = 0
            var done = false
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())
        let expected: Int

        init(expected: Int) { self.expected = expected }

        func record(_ event: WorkerEvent) {
            let now = ContinuousClock.now
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                switch event {
                case .attemptStarted:
                    if state.firstStart == nil { state.firstStart = now }
                    return nil
                case .attemptFinished(_, _, let outcome, _, let result):
                    state.finished += 1
                    if outcome != .succeeded || result != .applied { state.notCompleted += 1 }
                    guard state.finished == expected else { return nil }
                    state.lastFinish = now
                    return finish(&state)
                default:
                    return nil
                }
            }
            waiter?.resume()
        }

        func giveUp() {
            state.withLock { finish(&$0) }?.resume()
        }

        private func finish(_ state: inout State) -> CheckedContinuation<Void, Never>? {
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }

        func waitUntilDone() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.done { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }

        func snapshot() -> (firstStart: ContinuousClock.Instant?, lastFinish: ContinuousClock.Instant?, finished: Int, notCompleted: Int) {
            state.withLock { ($0.firstStart, $0.lastFinish, $0.finished, $0.notCompleted) }
        }
    }
}

extension Duration {
    var benchSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
