import Logging
import Synchronization

/// Group commit for attempt outcomes: finishes submitted while a write is in flight are written
/// together in the next one, so a busy worker records many outcomes per transaction without
/// adding latency when it is quiet. The queueing is the shared batching device (``Batcher``);
/// this type holds the worker's rules for a store that fails.
///
/// Each outcome is batched once, here: the store writes a batch as one call (on SQLite one
/// write of the store's writer, which may share a transaction with concurrent claims and
/// enqueues, but is not split up or queued per outcome again). See docs/architecture.md.
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
    /// The outcomes, queued and grouped by the shared batching device; a `nil` answer: not
    /// written (given up, or submitted after ``close()``).
    private let batcher: Batcher<AttemptFinish, FenceResult?>
    private let shuttingDown = Atomic(false)
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
        self.batcher = Batcher(maximumWeight: Self.maximumBatch) { nil }
        self.store = store
        self.clock = clock
        self.logger = logger
        self.onStoreError = onStoreError
    }

    /// Records `finish`; returns the store's verdict, or `nil` if it could not be written (the
    /// store stayed unreachable at shutdown, or refused this outcome in every form): the lease
    /// then expires and the rescuer takes the job back, so nothing is lost.
    func submit(_ finish: AttemptFinish) async -> FenceResult? {
        // The writer is ``run()``, which waits for work: nothing to start.
        await batcher.submit(finish) {}
    }

    /// The worker is shutting down: outcomes that keep failing are given up after
    /// ``giveUpAtShutdownAfter`` tries instead of being retried until the store answers.
    func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
    }

    /// Stops after writing what is pending.
    func close() {
        shuttingDown.store(true, ordering: .relaxed)
        batcher.close()
    }

    /// Writes batches until closed and drained.
    func run() async {
        var failures = 0
        while true {
            // Let the job tasks that are ready to run submit first: jobs claimed together end
            // together, and one yield turns a trickle of one-outcome writes into one write of
            // many (a quiet worker's lone outcome waits only for that turn).
            await Task.yield()
            guard let batch = await batcher.nextGroupOrWait() else { return }
            let outcomes = await write(batch, failures: &failures)
            batcher.groupWritten(outcomes)
            if outcomes.contains(where: { if case .answer = $0 { false } else { true } }) {
                try? await clock.sleep(for: StoreBackoff.delay(failures: failures))
            }
        }
    }

    /// Writes one batch; returns each outcome's answer, or `retry` for those to write again
    /// (after a pause) together with the outcomes submitted meanwhile. `failures` counts the
    /// failed writes in a row.
    private func write(_ batch: [AttemptFinish], failures: inout Int) async -> [BatchOutcome<FenceResult?>] {
        let error: any Error
        do {
            let results = try await store.finish(batch)
            failures = 0
            return batch.indices.map { .answer($0 < results.count ? results[$0] : nil) }
        } catch let thrown {
            error = thrown
        }
        failures += 1
        logger.warning("could not record attempt outcomes; retrying", metadata: [
            "error": "\(error)", "outcomes": "\(batch.count)", "failures": "\(failures)",
        ])
        onStoreError("finish: \(error)")
        var outcomes = Array(repeating: BatchOutcome<FenceResult?>.retry, count: batch.count)
        if failures >= Self.isolateAfter {
            let storeAnswered = await writeOneByOne(batch, into: &outcomes)
            if storeAnswered {
                failures = 0
                for index in batch.indices where outcomes[index].isRefused {
                    outcomes[index] = .answer(await writeWithoutErrorText(batch[index]))
                }
                return outcomes
            }
        }
        if shuttingDown.load(ordering: .relaxed) && failures >= Self.giveUpAtShutdownAfter {
            logger.error("giving up recording attempt outcomes at shutdown; their leases will expire and the jobs will be rescued", metadata: ["outcomes": "\(batch.count)"])
            return Array(repeating: .answer(nil), count: batch.count)
        }
        return outcomes
    }

    /// Writes each outcome alone: an accepted one gets its answer, a refused one becomes
    /// `retryLast`, one not tried stays `retry`. Returns whether the store accepted any (then it
    /// is up, and the refused ones are refused for what they hold). Stops after two refusals
    /// while none was accepted: the store is probably down, and a long batch should not cost a
    /// failed call per outcome. (Refused outcomes go behind the untried ones, so a row that cannot
    /// be stored does not hide the others next time.)
    private func writeOneByOne(_ batch: [AttemptFinish], into outcomes: inout [BatchOutcome<FenceResult?>]) async -> Bool {
        var refused = 0
        var answered = false
        for (index, finish) in batch.enumerated() {
            if !answered && refused >= 2 { return false }
            if let result = try? await store.finish([finish]).first {
                outcomes[index] = .answer(result)
                answered = true
            } else {
                outcomes[index] = .retryLast
                refused += 1
            }
        }
        return answered
    }

    /// An outcome the store refuses while it accepts others: written once more with its error
    /// text replaced by a fixed note (the original is in this log line); `nil` if even that is
    /// refused (given up).
    private func writeWithoutErrorText(_ original: AttemptFinish) async -> FenceResult? {
        var finish = original
        let originalError = finish.error
        finish.error = AttemptError(
            type: "UnstorableError",
            message: "the store refused this attempt's error text; the worker's log has it (job \(finish.lease.jobID), attempt \(finish.attempt))",
            errorClass: originalError?.errorClass ?? .transient
        )
        logger.error("the store refused one attempt outcome while accepting others; writing it without its error text", metadata: [
            "job_id": "\(finish.lease.jobID)", "attempt": "\(finish.attempt)",
            "error_type": "\(originalError?.type ?? "none")", "error": "\(originalError?.message ?? "")",
        ])
        if let result = try? await store.finish([finish]).first { return result }
        logger.error("giving up recording one attempt outcome the store refuses in every form; its lease will expire and the job will be rescued", metadata: [
            "job_id": "\(finish.lease.jobID)", "attempt": "\(finish.attempt)",
        ])
        return nil
    }
}

extension BatchOutcome {
    /// Written alone and refused (see `CompletionBatcher.writeOneByOne`).
    fileprivate var isRefused: Bool {
        if case .retryLast = self { true } else { false }
    }
}

/// The delay before retrying a store that failed: 100 ms doubling to 5 s.
enum StoreBackoff {
    static func delay(failures: Int) -> Duration {
        let exponent = min(max(0, failures - 1), 6)
        return min(.milliseconds(100) * (1 << exponent), .seconds(5))
    }
}
