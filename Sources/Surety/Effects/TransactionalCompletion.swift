import Foundation
import Synchronization

/// Shared between a running attempt's context and its worker: set when a store completed the
/// attempt inside the application's own transaction, so the worker does not write it again.
final class AttemptCompletionState: Sendable {
    /// A completion written inside a transaction that the application commits (or not).
    struct Pending: Sendable {
        var at: Date
        var committed: @Sendable () async throws -> Bool
    }

    private let state = Mutex<(completedAt: Date?, pending: Pending?)>((nil, nil))

    func markCompleted(at date: Date) { state.withLock { $0.completedAt = date } }
    var completion: Date? { state.withLock { $0.completedAt } }

    func markPending(_ pending: Pending) { state.withLock { $0.pending = pending } }

    /// Whether a store wrote this attempt's completion in a transaction, committed or pending:
    /// the attempt's writes that must come before its completion (a step result) are too late.
    var hasCompletion: Bool { state.withLock { $0.completedAt != nil || $0.pending != nil } }

    func confirmPending() {
        state.withLock { state in
            if let pending = state.pending { state.completedAt = pending.at }
            state.pending = nil
        }
    }

    /// The completion, asking the store whether a pending one committed. An answer that cannot
    /// be had counts as "not committed": the worker then writes the outcome fenced on the same
    /// lease token, which the store refuses if the completion did commit.
    func resolvedCompletion() async -> Date? {
        if let completion { return completion }
        guard let pending = state.withLock({ $0.pending }) else { return nil }
        return (try? await pending.committed()) == true ? pending.at : nil
    }
}

extension JobContext {
    /// The transition that completes this attempt, for a store that writes it inside the
    /// application's own transaction (``SuretySQLite/SQLiteStore/complete(_:_:)``): conditional on
    /// this attempt's lease token like every other write of the attempt.
    /// - Throws: ``SuretyError/Code/invalidArgument`` outside a worker (no lease).
    package func completionTransition(at date: Date) throws -> AttemptFinish {
        guard let lease else {
            throw SuretyError(.invalidArgument, "transactional completion needs a running attempt (no lease in this context)")
        }
        return AttemptFinish(lease: lease, attempt: attempt, worker: worker, startedAt: startedAt, endedAt: date, outcome: .succeeded, next: .completed)
    }

    /// Called by a store after the transaction that completed this attempt committed.
    package func markCompletedInTransaction(at date: Date) {
        completionState?.markCompleted(at: date)
    }

    /// Called by a store that wrote this attempt's completion inside a transaction the
    /// application commits itself (``SuretyPostgres/PostgresStore/complete(_:on:)``): once the job
    /// returns, the worker calls `committed` to learn whether the completion is durable, and writes
    /// nothing more for the attempt if it is.
    package func markCompletionPending(at date: Date, committed: @escaping @Sendable () async throws -> Bool) {
        completionState?.markPending(AttemptCompletionState.Pending(at: date, committed: committed))
    }

    /// Called by a store after the transaction holding a pending completion committed.
    package func confirmPendingCompletion() {
        completionState?.confirmPending()
    }

    /// Whether this attempt was already completed inside the application's transaction.
    public var isCompletedInTransaction: Bool { completionState?.completion != nil }
}
