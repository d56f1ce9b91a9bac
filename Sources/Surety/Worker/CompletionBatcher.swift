import Logging
import Synchronization

/// Group commit for attempt outcomes: finishes submitted while a write is in flight are written
/// together in the next one, so a busy worker records many outcomes per transaction without
/// adding latency when it is quiet.
///
/// A failed write never holds the other outcomes back for good (review items 1 and 5):
/// - outcomes that failed are written again together with whatever was submitted meanwhile;
/// - after two failures in a row a batch of several is written outcome by outcome: if some of
///   them succeed the store is up, and an outcome it still refuses cannot be stored as it is;
///   it is written once more with its error text replaced by a fixed note, and if even that is
///   refused it is given up (its lease expires, the rescuer retries the job);
/// - once the worker shuts down, outcomes that failed five times in a row are given up.
///
/// ``run()`` must run in a task no caller's cancellation reaches (the worker starts it as a
/// task of its own): a store such as PostgreSQL refuses every call from a cancelled task, and
/// the outcomes of a cancelled worker must still be written.
final class CompletionBatcher: Sendable {
    typealias Waiter = CheckedContinuation<FenceResult?, Never>

    private struct Entry {
        var finish: AttemptFinish
        var waiter: Waiter
    }

    private struct State {
        var pending: [Entry] = []
        var closed = false
        var shuttingDown = false
        var flusher: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let store: any JobStore
    private let clock: any SuretyClock
    private let logger: Logger
    private let onStoreError: @Sendable (String) -> Void
    /// The most outcomes written in one transaction.
    static let maximumBatch = 512
    /// Failures in a row after which a batch of several is written outcome by outcome.
    static let isolateAfter = 2
    /// Failures in a row after which, at shutdown, the outcomes are given up.
    static let giveUpAtShutdownAfter = 5

    init(store: any JobStore, clock: any SuretyClock, logger: Logger, onStoreError: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.onStoreError = onStoreError
    }

    /// Records `finish`; returns the store's verdict, or `nil` if it could not be written (the
    /// store stayed unreachable at shutdown, or refused this outcome in every form): the lease
    /// then expires and the rescuer takes the job back, so nothing is lost.
    func submit(_ finish: AttemptFinish) async -> FenceResult? {
        await withCheckedContinuation { (waiter: Waiter) in
            let flusher = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.pending.append(Entry(finish: finish, waiter: waiter))
                defer { state.flusher = nil }
                return state.flusher
            }
            flusher?.resume()
        }
    }

    /// The worker is shutting down: outcomes that keep failing are given up after
    /// ``giveUpAtShutdownAfter`` tries instead of being retried until the store answers.
    func beginShutdown() {
        state.withLock { $0.shuttingDown = true }
    }

    /// Stops after writing what is pending.
    func close() {
        let flusher = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            state.shuttingDown = true
            defer { state.flusher = nil }
            return state.flusher
        }
        flusher?.resume()
    }

    /// Writes batches until closed and drained.
    func run() async {
        var failures = 0
        var carried: [Entry] = []
        while true {
            let (fresh, closed) = carried.isEmpty ? await nextBatch() : takePending(upTo: Self.maximumBatch - carried.count)
            var batch = carried + fresh
            carried = []
            if batch.isEmpty {
                if closed { return }
                continue
            }
            let error: any Error
            do {
                let results = try await store.finish(batch.map(\.finish))
                for (entry, result) in zip(batch, results) { entry.waiter.resume(returning: result) }
                failures = 0
                continue
            } catch let thrown {
                error = thrown
            }
            failures += 1
            logger.warning("could not record attempt outcomes; retrying", metadata: [
                "error": "\(error)", "outcomes": "\(batch.count)", "failures": "\(failures)",
            ])
            onStoreError("finish: \(error)")
            if failures >= Self.isolateAfter {
                let (refused, untried, storeAnswered) = await writeOneByOne(batch)
                if storeAnswered {
                    failures = 0
                    for entry in refused { await writeWithoutErrorText(entry) }
                    continue
                }
                // Most likely an outage; the refused ones go last, so a row that cannot be
                // stored does not hide the others next time.
                batch = untried + refused
            }
            if state.withLock({ $0.shuttingDown }) && failures >= Self.giveUpAtShutdownAfter {
                logger.error("giving up recording attempt outcomes at shutdown; their leases will expire and the jobs will be rescued", metadata: ["outcomes": "\(batch.count)"])
                for entry in batch { entry.waiter.resume(returning: nil) }
                continue
            }
            carried = batch
            try? await clock.sleep(for: StoreBackoff.delay(failures: failures))
        }
    }

    /// Writes each outcome alone; returns those the store refused, those not tried, and whether
    /// it accepted any (then the store is up, and the refused ones are refused for what they
    /// hold). Stops after two refusals while none was accepted: the store is probably down, and
    /// a long batch should not cost a failed call per outcome.
    private func writeOneByOne(_ batch: [Entry]) async -> (refused: [Entry], untried: [Entry], storeAnswered: Bool) {
        var refused: [Entry] = []
        var answered = false
        for (index, entry) in batch.enumerated() {
            if !answered && refused.count >= 2 { return (refused, Array(batch[index...]), false) }
            if let result = try? await store.finish([entry.finish]).first {
                entry.waiter.resume(returning: result)
                answered = true
            } else {
                refused.append(entry)
            }
        }
        return (refused, [], answered)
    }

    /// An outcome the store refuses while it accepts others: written once more with its error
    /// text replaced by a fixed note (the original is in this log line), else given up.
    private func writeWithoutErrorText(_ entry: Entry) async {
        var finish = entry.finish
        let original = finish.error
        finish.error = AttemptError(
            type: "UnstorableError",
            message: "the store refused this attempt's error text; the worker's log has it (job \(finish.lease.jobID), attempt \(finish.attempt))",
            errorClass: original?.errorClass ?? .transient
        )
        logger.error("the store refused one attempt outcome while accepting others; writing it without its error text", metadata: [
            "job_id": "\(finish.lease.jobID)", "attempt": "\(finish.attempt)",
            "error_type": "\(original?.type ?? "none")", "error": "\(original?.message ?? "")",
        ])
        if let result = try? await store.finish([finish]).first {
            entry.waiter.resume(returning: result)
            return
        }
        logger.error("giving up recording one attempt outcome the store refuses in every form; its lease will expire and the job will be rescued", metadata: [
            "job_id": "\(finish.lease.jobID)", "attempt": "\(finish.attempt)",
        ])
        entry.waiter.resume(returning: nil)
    }

    /// Takes what is pending without waiting.
    private func takePending(upTo limit: Int) -> ([Entry], Bool) {
        state.withLock { state in
            let count = min(state.pending.count, max(0, limit))
            let taken = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            return (taken, state.closed)
        }
    }

    private func nextBatch() async -> ([Entry], Bool) {
        while true {
            // Let the job tasks that are ready to run submit first: jobs claimed together end
            // together, and one yield turns a trickle of one-outcome writes into one write of
            // many (a quiet worker's lone outcome waits only for that turn).
            await Task.yield()
            let taken = state.withLock { state -> ([Entry], Bool)? in
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
