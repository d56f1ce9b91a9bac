import Foundation
import GRDB
import Surety
import Synchronization

/// The embedded default store: one SQLite file, through GRDB, in WAL mode.
///
/// ```swift
/// let store = try SQLiteStore(path: "jobs.sqlite")
/// try await store.migrate()
/// let queue = JobQueue(store: store)
/// ```
///
/// - Every `JobStore` method is one write transaction (`BEGIN IMMEDIATE`) on the single
///   writer connection, or one read on a reader connection. A write, once started, is not
///   interrupted by task cancellation: it commits whole or, on an error, not at all.
/// - The application may keep its own tables in the same file and enqueue inside its own
///   transactions (``enqueue(_:in:)``): the jobs exist if and only if that transaction commits.
/// - The tables are documented in docs/schema.md.
public final class SQLiteStore: JobStore, JobInspectionStore, OperatorActionStore, AvailabilitySignalStore {
    /// The GRDB pool, so an application can keep its own tables in the same file and use
    /// transactions (see ``enqueue(_:in:)``).
    public let database: DatabasePool
    /// The path the store was opened with.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration

    private let availability = AvailabilityBroadcaster()
    /// Shares one write transaction among every concurrent write.
    let writeGroups: SQLiteWriteGroups
    /// The queue limits claims and enqueues read (SQLiteStore+FlowControl.swift).
    let limitsCache: LimitsCache

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode. Does not migrate: call
    /// ``migrate()`` (or run `surety migrate`) before using the store.
    ///
    /// - Throws: `SuretyError` with `invalidArgument` for a bad configuration,
    ///   `storeUnavailable` when the file cannot be opened (its folder does not exist, no
    ///   permission, locked), or `storeCorrupt` when the file is not a SQLite database.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        guard configuration.maximumReaderCount >= 1 else {
            throw SuretyError(.invalidArgument, "SQLiteStore.Configuration.maximumReaderCount must be at least 1, got \(configuration.maximumReaderCount)")
        }
        guard configuration.busyTimeout >= .zero else {
            throw SuretyError(.invalidArgument, "SQLiteStore.Configuration.busyTimeout must not be negative")
        }
        try Self.checkLocation(path)
        var grdb = GRDB.Configuration()
        grdb.label = "surety"
        grdb.journalMode = .wal
        grdb.foreignKeysEnabled = true
        grdb.busyMode = .timeout(configuration.busyTimeout.timeInterval)
        grdb.maximumReaderCount = configuration.maximumReaderCount
        do {
            let pool = try DatabasePool(path: path, configuration: grdb)
            // GRDB sets synchronous = NORMAL when it enables WAL; apply ours on the writer, the
            // only connection that commits.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(configuration.synchronous.rawValue)")
            }
            database = pool
            writeGroups = SQLiteWriteGroups(database: pool)
        } catch {
            throw StoreErrors.wrap(error, path: path, operation: "opening the store")
        }
        self.path = path
        self.configuration = configuration
        self.limitsCache = LimitsCache(refreshInterval: configuration.limitsRefreshInterval)
    }

    /// Creates or upgrades the schema (versioned migrations "v1", ...). Safe to call on every
    /// start and from several processes at once: migrations run in an exclusive transaction.
    ///
    /// - Throws: `SuretyError` `storeCorrupt` when the file was migrated by a newer
    ///   version of Surety, or is not a SQLite database.
    public func migrate() async throws {
        let migrator = Migrations.migrator
        let path = path
        do {
            let superseded = try await database.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                throw SuretyError(
                    .storeCorrupt,
                    "the SQLite store '\(path)' was migrated by a newer version of Surety; upgrade this program before using it"
                )
            }
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                migrator.asyncMigrate(database) { result in
                    switch result {
                    case .success: continuation.resume()
                    case .failure(let error): continuation.resume(throwing: error)
                    }
                }
            }
        } catch {
            throw StoreErrors.wrap(error, path: path, operation: "migrate")
        }
    }

    // MARK: Wake-ups

    public func availabilitySignals() -> AsyncStream<Void> { availability.subscribe() }

    /// Tells every subscriber that jobs may have become claimable. Call only after a commit.
    func signal() { availability.signal() }

    // MARK: Access

    /// One write transaction. It is handed to GRDB's writer queue with a completion callback,
    /// not through GRDB's async `write`, so cancelling the caller does not interrupt a state
    /// transition halfway (GRDB would roll it back and report cancellation): the caller waits
    /// for the commit and gets its result. (A callback, rather than a task per write: this is
    /// every enqueue's and every batch's path.)
    ///
    /// Writes that queue up while another is being written share the next transaction, each in a
    /// savepoint of its own (``SQLiteWriteGroups``): one commit for many writers.
    func write<T: Sendable>(_ operation: String, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writeGroups.write(updates)
        } catch {
            throw StoreErrors.wrap(error, path: path, operation: operation)
        }
    }

    /// One read, on a reader connection (a consistent snapshot beside the writer).
    func read<T: Sendable>(_ operation: String, _ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(value)
        } catch {
            throw StoreErrors.wrap(error, path: path, operation: operation)
        }
    }

    /// Fails early, with a message that says what to do, where SQLite would only say "unable
    /// to open database file".
    private static func checkLocation(_ path: String) throws {
        guard !path.isEmpty, path != ":memory:" else {
            throw SuretyError(.invalidArgument, "SQLiteStore needs a file path (WAL mode does not work in memory); use MemoryStore for tests without a file")
        }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            throw SuretyError(.storeUnavailable, "cannot open the SQLite store '\(path)': the folder '\(folder)' does not exist; create it first or choose another path")
        }
        if !isDirectory.boolValue {
            throw SuretyError(.storeUnavailable, "cannot open the SQLite store '\(path)': '\(folder)' is not a folder")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SuretyError(.storeUnavailable, "cannot open the SQLite store '\(path)': it is a folder, not a file; choose a file path such as '\(path)/surety.sqlite'")
        }
    }
}
