import Foundation
import Synchronization

/// Shared between a running attempt's context and its worker: set when a store completed the
/// attempt inside the application's own transaction, so the worker does not write it again.
final class AttemptCompletionState: Sendable {
    private let completedAt = Mutex<Date?>(nil)

    func markCompleted(at date: Date) { completedAt.withLock { $0 = date } }
    var completion: Date? { completedAt.withLock { $0 } }
}

extension JobContext {
    /// The transition that completes this attempt, for a store that writes it inside the
    /// application's own transaction (``SuretySQLite/SQLiteStore/complete(_:_:)``): conditional on
    /// this attempt's lease token like every other write of the attempt.
    /// - Throws: ``SuretyError/Code/invalidArgument`` outside a worker (no lease).
    public func completionTransition(at date: Date) throws -> AttemptFinish {
        guard let lease else {
            throw SuretyError(.invalidArgument, "transactional completion needs a running attempt (no lease in this context)")
        }
        return AttemptFinish(lease: lease, attempt: attempt, worker: worker, startedAt: startedAt, endedAt: date, outcome: .succeeded, next: .completed)
    }

    /// Called by a store after the transaction that completed this attempt committed.
    public func markCompletedInTransaction(at date: Date) {
        completionState?.markCompleted(at: date)
    }

    /// Whether this attempt was already completed inside the application's transaction.
    public var isCompletedInTransaction: Bool { completionState?.completion != nil }
}
