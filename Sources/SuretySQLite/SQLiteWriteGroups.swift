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
        database.asyncWriteWithoutTransaction { [self] db in
            let failure: (any Error)?
            do {
                try Self.transaction(db) {
                    if group.count == 1 {
                        // Alone: the write is the whole transaction (its error rolls it back).
                        try group[0].run(db, true)
                    } else {
                        for write in group { try write.run(db, false) }
                    }
                }
                failure = nil
            } catch {
                failure = error
            }
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
        }
    }

    /// `BEGIN IMMEDIATE`, `body`, `COMMIT`; `ROLLBACK` if either throws.
    ///
    /// The statements are GRDB's cached statements, not `Database.inTransaction`: GRDB builds
    /// and parses its transaction SQL on every call, a measurable share of a one-row write
    /// (docs/benchmarks.md). GRDB still executes them, so its transaction state stays right.
    static func transaction(_ db: Database, _ body: () throws -> Void) throws {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
        do {
            try body()
            try db.cachedStatement(sql: "COMMIT").execute()
        } catch {
            // A failed COMMIT may leave the transaction open (SQLITE_BUSY); a failed statement
            // may already have ended it (SQLite rolls back on some errors by itself).
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK").execute() }
            throw error
        }
    }

    /// `body` in a savepoint: its changes are kept if it returns true, undone if it returns
    /// false. Throws only when the savepoint statements fail (the group then fails whole).
    static func savepoint(_ db: Database, _ body: () -> Bool) throws {
        try db.cachedStatement(sql: "SAVEPOINT surety_write").execute()
        if !body() { try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT surety_write").execute() }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT surety_write").execute()
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
                    try Self.savepoint(db) {
                        if case .failure = attempt() { return false }
                        return true
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
