import Logging
import Synchronization

/// Group commit for attempt outcomes: finishes submitted while a write is in flight are written
/// together in the next one, so a busy worker records many outcomes per transaction without
/// adding latency when it is quiet.
final class CompletionBatcher: Sendable {
    typealias Waiter = CheckedContinuation<FenceResult?, Never>

    private struct State {
        var pending: [(AttemptFinish, Waiter)] = []
        var closed = false
        var flusher: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let store: any JobStore
    private let clock: any SuretyClock
    private let logger: Logger
    private let onStoreError: @Sendable (String) -> Void
    /// The most outcomes written in one transaction.
    static let maximumBatch = 512

    init(store: any JobStore, clock: any SuretyClock, logger: Logger, onStoreError: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.onStoreError = onStoreError
    }

    /// Records `finish`; returns the store's verdict, or `nil` if it could not be written before
    /// shutdown (the lease then expires and the rescuer takes the job back: nothing is lost).
    func submit(_ finish: AttemptFinish) async -> FenceResult? {
        await withCheckedContinuation { (waiter: Waiter) in
            let flusher = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.pending.append((finish, waiter))
                defer { state.flusher = nil }
                return state.flusher
            }
            flusher?.resume()
        }
    }

    /// Stops after writing what is pending.
    func close() {
        let flusher = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.flusher = nil }
            return state.flusher
        }
        flusher?.resume()
    }

    /// Writes batches until closed and drained. Runs as a child task of the worker.
    func run() async {
        var failures = 0
        while true {
            let (batch, closed) = await nextBatch()
            if batch.isEmpty {
                if closed { return }
                continue
            }
            while true {
                do {
                    let results = try await store.finish(batch.map(\.0))
                    for (entry, result) in zip(batch, results) { entry.1.resume(returning: result) }
                    failures = 0
                    break
                } catch {
                    failures += 1
                    let closing = state.withLock { $0.closed }
                    logger.warning("could not record attempt outcomes; retrying", metadata: [
                        "error": "\(error)", "outcomes": "\(batch.count)", "failures": "\(failures)",
                    ])
                    onStoreError("finish: \(error)")
                    if closing && failures >= 5 {
                        logger.error("giving up recording attempt outcomes at shutdown; their leases will expire and the jobs will be rescued", metadata: ["outcomes": "\(batch.count)"])
                        for entry in batch { entry.1.resume(returning: nil) }
                        break
                    }
                    try? await clock.sleep(for: StoreBackoff.delay(failures: failures))
                }
            }
        }
    }

    private func nextBatch() async -> ([(AttemptFinish, Waiter)], Bool) {
        while true {
            // Let the job tasks that are ready to run submit first: jobs claimed together end
            // together, and one yield turns a trickle of one-outcome writes into one write of
            // many (a quiet worker's lone outcome waits only for that turn).
            await Task.yield()
            let taken = state.withLock { state -> ([(AttemptFinish, Waiter)], Bool)? in
                if state.pending.isEmpty { return state.closed ? ([], true) : nil }
                let count = min(state.pending.count, CompletionBatcher.maximumBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return (batch, state.closed)
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.closed { return true }
                    state.flusher = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}

/// The delay before retrying a store that failed: 100 ms doubling to 5 s.
enum StoreBackoff {
    static func delay(failures: Int) -> Duration {
        let exponent = min(max(0, failures - 1), 6)
        return min(.milliseconds(100) * (1 << exponent), .seconds(5))
    }
}
