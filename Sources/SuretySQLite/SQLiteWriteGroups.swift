import GRDB
import Surety
import Synchronization

/// Group commit for every write of a store: writes that queue up while one transaction is being
/// written go together in the next transaction, each in a savepoint of its own.
///
/// SQLite has one writer; before this, each write was its own transaction and its own commit
/// (file locks, WAL frames, an `fsync` with `synchronous = FULL`), so concurrent writers (16
/// producers, a worker's claims beside its completions, effect-ledger rows of 256 running jobs)
/// queued for commits one by one. Now a lone write is still one transaction at once, and a busy
/// store commits many writes at a time. Each write keeps its guarantees: its caller resumes only
/// after the commit that holds it, and a write that throws rolls back its own savepoint only, so
/// it fails alone. If the commit itself fails, every write of the group fails with its error.
final class SQLiteWriteGroups: Sendable {
    /// One queued write: `run` does the work in the writer's transaction and keeps its outcome;
    /// `finish` resumes the caller once the transaction's fate is known (`nil`: committed).
    struct Write: Sendable {
        let run: @Sendable (Database, _ alone: Bool) throws -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var pending: [Write] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let database: DatabasePool

    init(database: DatabasePool) {
        self.database = database
    }

    /// Writes waiting for the next transaction (for tests).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Queues `write`; starts a transaction unless one is being written (its end starts the next).
    func submit(_ write: Write) {
        let start = state.withLock { state -> Bool in
            state.pending.append(write)
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if start { flush() }
    }

    /// Writes what is pending as one transaction; when it ends, the next group (queued
    /// meanwhile) starts, or nobody writes.
    private func flush() {
        let group = state.withLock { state -> [Write] in
            defer { state.pending = [] }
            return state.pending
        }
        database.asyncWrite({ db in
            if group.count == 1 {
                // Alone: the write is the whole transaction (its error rolls it back).
                try group[0].run(db, true)
            } else {
                for write in group { try write.run(db, false) }
            }
        }, completion: { [self] _, result in
            let failure: (any Error)?
            if case .failure(let error) = result { failure = error } else { failure = nil }
            // A lone write's own error, or a failed commit (every write of the group).
            for write in group { write.finish(failure) }
            let again = state.withLock { state -> Bool in
                guard !state.pending.isEmpty else {
                    state.writing = false
                    return false
                }
                return true
            }
            if again { flush() }
        })
    }

    /// Runs `updates` in the next group transaction; returns its value after the commit.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit(Write(
                run: { db, alone in
                    // Runs the write once and keeps its outcome for `finish`.
                    func attempt() -> Result<T, any Error> {
                        let result = Result { try updates(db) }
                        outcome.withLock { $0 = result }
                        return result
                    }
                    if alone {
                        // The whole transaction: its error rolls it back.
                        _ = try attempt().get()
                        return
                    }
                    // In a group: a savepoint of its own, so its failure undoes only its changes.
                    try db.inSavepoint {
                        if case .failure = attempt() { return .rollback }
                        return .commit
                    }
                },
                finish: { failure in
                    if let failure {
                        continuation.resume(throwing: failure)
                    } else if let result = outcome.withLock({ $0 }) {
                        continuation.resume(with: result)
                    } else {
                        // Cannot happen (a committed group ran every write); reported rather than hung.
                        continuation.resume(throwing: SuretyError(.invalidState, "internal error: a write was committed without running"))
                    }
                }
            ))
        }
    }
}
