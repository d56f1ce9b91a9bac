import GRDB
@_spi(Batching) import Surety
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
///
/// The queue is Surety's batching device (``Surety/Batcher``): each write returns its own value
/// through it, no side channel. A batch of attempt outcomes from the worker is one write here,
/// not one per outcome: outcomes are batched once, by the worker (docs/architecture.md).
final class SQLiteWriteGroups: Sendable {
    /// One queued write: it runs in the writer's transaction and returns its value.
    typealias Write = @Sendable (Database) throws -> any Sendable

    /// The writes, queued and grouped by Surety's batching device (no limit on a group's size:
    /// one transaction takes every write queued while the previous one ran).
    private let batcher = Batcher<Write, Result<any Sendable, any Error>>(maximumWeight: .max) {
        .failure(SuretyError(.invalidState, "internal error: the store's write groups were closed"))
    }
    private let database: DatabasePool

    init(database: DatabasePool) {
        self.database = database
    }

    /// Writes waiting for the next transaction (for tests).
    var pendingCount: Int { batcher.waitingCount }

    /// Runs `updates` in the next group transaction; returns its value after the commit.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let answer = await batcher.submit({ db in try updates(db) }) { flush() }
        guard let value = try answer.get() as? T else {
            // Cannot happen (the write's own value comes back); reported rather than crashed.
            throw SuretyError(.invalidState, "internal error: a write returned a value of another type")
        }
        return value
    }

    /// Starts the next group (queued meanwhile) as one transaction on GRDB's writer queue; when
    /// it ends, the group after it, until none is queued.
    private func flush() {
        guard let group = batcher.nextGroup() else { return }
        database.asyncWriteWithoutTransaction { [self] db in
            batcher.groupWritten(Self.run(group, db).map { .answer($0) })
            flush()
        }
    }

    /// Runs a group in one transaction; returns each write's result, in order. A lone write is
    /// the whole transaction (its error rolls it back); in a group each write has a savepoint of
    /// its own, so one that throws undoes only its changes and fails alone. A failed commit (or
    /// savepoint statement) fails every write of the group.
    static func run(_ group: [Write], _ db: Database) -> [Result<any Sendable, any Error>] {
        var results: [Result<any Sendable, any Error>] = []
        results.reserveCapacity(group.count)
        do {
            try transaction(db) {
                if group.count == 1 {
                    results.append(.success(try group[0](db)))
                } else {
                    for write in group {
                        try savepoint(db) {
                            let result = Result { try write(db) }
                            results.append(result)
                            if case .failure = result { return false }
                            return true
                        }
                    }
                }
            }
            return results
        } catch {
            return Array(repeating: .failure(error), count: group.count)
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
}
