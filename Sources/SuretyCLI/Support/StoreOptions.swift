import ArgumentParser
import Foundation
import GRDB
import Logging
import Surety
import SuretyPostgres
import SuretySQLite

/// SQLite's `synchronous` setting, as a command-line value.
enum SynchronousMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    case normal
    case full

    var configuration: SQLiteStore.Configuration.Synchronous {
        switch self {
        case .normal: .normal
        case .full: .full
        }
    }
}

/// `--store URL` and `--synchronous`, shared by every command that opens a store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store URL: sqlite:PATH, or postgres://user:password@host:port/database[?schema=NAME]. Default: $SURETY_STORE, else sqlite:surety.sqlite in the working folder.",
            valueName: "url"
        )
    )
    var store: String?

    @Option(name: .long, help: "SQLite's synchronous setting: full (durable at every commit) or normal (faster; a power cut may lose the last commits).")
    var synchronous: SynchronousMode = .full

    /// The parsed store URL.
    /// `--store`, else `$SURETY_STORE`, else the application's default store, else
    /// `sqlite:surety.sqlite`.
    func url() throws -> StoreURL {
        if store == nil, let fallback = SuretyApplication.current.defaultStore,
           (ProcessInfo.processInfo.environment[StoreURL.environmentVariable] ?? "").isEmpty {
            return try StoreURL.parse(fallback)
        }
        return try StoreURL.resolve(store)
    }

    /// Opens an SQLite store and brings its schema up to date, for commands not yet moved to
    /// ``withStore(create:logger:_:)``; a PostgreSQL URL is a clear error.
    func open(create: Bool) async throws -> (SQLiteStore, StoreURL) {
        let url = try url()
        guard case .sqlite = url else {
            throw SuretyError(.invalidStoreURL, "this command supports SQLite stores only for now (sqlite:PATH); \(url) is PostgreSQL")
        }
        let store = try await StoreOpener.open(url, synchronous: synchronous.configuration, create: create)
        return (store, url)
    }

    /// Opens the store, brings its schema up to date, and runs `body` with it. A PostgreSQL
    /// store's connection pool runs (in a child task) only while `body` runs.
    /// - Parameter create: whether a missing store (SQLite file, PostgreSQL schema) is created;
    ///   when `false`, a missing one is an error (read and operator commands never create a store
    ///   by accident).
    /// - Parameter logger: where a PostgreSQL store logs (connection trouble). Default: nowhere.
    func withStore<T: Sendable>(
        create: Bool, logger: Logger = Logs.silent("surety.postgres"), _ body: (OpenStore) async throws -> T
    ) async throws -> T {
        let url = try url()
        switch url {
        case .sqlite:
            let store = try await StoreOpener.open(url, synchronous: synchronous.configuration, create: create)
            return try await body(OpenStore(url: url, store: store, sqlite: store, postgres: nil))
        case .postgres:
            return try await StoreOpener.withPostgres(url, create: create, logger: logger) { store in
                try await body(OpenStore(url: url, store: store, sqlite: nil, postgres: store))
            }
        }
    }
}

/// What a command asks of a store: the runtime contract, `JobInspectionStore`,
/// `OperatorActionStore` and `EffectLedgerStore` (every store a URL opens has
/// them all). Other capabilities are detected where a command needs them.
public typealias CommandStore = EffectLedgerStore & JobInspectionStore & OperatorActionStore

/// A store opened by a command: the ``CommandStore`` to use, and the concrete store for what
/// only one kind offers (the demo tables live in SQLite).
public struct OpenStore: Sendable {
    /// The store URL the command opened.
    public let url: StoreURL
    /// The store, for every kind.
    public let store: any CommandStore
    /// The SQLite store, when the URL is `sqlite:` (for jobs that complete in its transaction).
    public let sqlite: SQLiteStore?
    /// The PostgreSQL store, when the URL is `postgres://`.
    public let postgres: PostgresStore?

    /// Creates the demo application's tables beside the store's (same SQLite file, or same
    /// PostgreSQL schema) when missing, and returns where they are.
    func demoTables() async throws -> DemoDatabase {
        do {
            if let sqlite {
                try await DemoSchema.migrate(sqlite.database)
                return .sqlite(sqlite.database)
            }
            guard let postgres else { throw SuretyError(.invalidArgument, "the store \(url) cannot hold the demo tables") }
            try await DemoSchema.migrate(postgres: postgres)
            return .postgres(postgres)
        } catch {
            throw StoreOpener.describe(error, action: "create the demo tables in", url: url)
        }
    }

    /// The SQLite store, or a clear error naming `feature` for a PostgreSQL store.
    func requireSQLite(for feature: String) throws -> SQLiteStore {
        guard let sqlite else {
            throw SuretyError(.invalidArgument, "\(feature) needs an SQLite store (sqlite:PATH); \(url) is PostgreSQL")
        }
        return sqlite
    }
}

/// Opens stores with errors a person can act on.
enum StoreOpener {
    /// Runs `body` with a migrated PostgreSQL store whose pool runs around it. A wrong URL,
    /// password or an unreachable server fails within the connect timeout (no hang).
    static func withPostgres<T: Sendable>(
        _ url: StoreURL, create: Bool, logger: Logger = Logs.silent("surety.postgres"),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        guard case .postgres(let text, let schema) = url else {
            throw SuretyError(.invalidStoreURL, "\(url) is not a PostgreSQL store URL")
        }
        let configuration = try PostgresStore.Configuration(url: text, schema: schema)
        return try await PostgresStore.withStore(configuration: configuration, logger: logger) { store in
            do {
                if !create, try await !store.isMigrated() {
                    throw SuretyError(.storeUnavailable, "no Surety store in schema '\(schema)'; create it with `surety migrate --store \(url)`")
                }
                try await store.migrate()
            } catch {
                throw describe(error, action: create ? "prepare the schema of" : "open", url: url)
            }
            return try await body(store)
        }
    }

    static func open(_ url: StoreURL, synchronous: SQLiteStore.Configuration.Synchronous, create: Bool) async throws -> SQLiteStore {
        let path = url.absolutePath
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw SuretyError(.storeUnavailable, "the store path \(path) is a directory, not an SQLite file")
            }
        } else {
            var parentIsDirectory: ObjCBool = false
            guard manager.fileExists(atPath: directory, isDirectory: &parentIsDirectory), parentIsDirectory.boolValue else {
                throw SuretyError(.storeUnavailable, "cannot open store \(url): the folder \(directory) does not exist")
            }
            guard create else {
                throw SuretyError(.storeUnavailable, "no store at \(path); create it with `surety migrate --store \(url)`")
            }
        }
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: path, configuration: SQLiteStore.Configuration(synchronous: synchronous))
        } catch {
            throw describe(error, action: "open", url: url)
        }
        do {
            try await store.migrate()
        } catch {
            throw describe(error, action: "prepare the schema of", url: url)
        }
        return store
    }

    /// A `SuretyError` for an error from opening or migrating, safe to print.
    static func describe(_ error: any Error, action: String, url: StoreURL) -> SuretyError {
        if let surety = error as? SuretyError {
            return SuretyError(surety.code, "cannot \(action) store \(url): \(surety.message)", underlying: surety)
        }
        if let database = error as? DatabaseError {
            let code: SuretyError.Code
            switch database.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT: code = .storeCorrupt
            default: code = .storeUnavailable
            }
            let detail = database.message ?? "\(database.resultCode)"
            let hint = code == .storeCorrupt ? " (the file is not a Surety SQLite store, or it is damaged)" : ""
            return SuretyError(code, "cannot \(action) store \(url): \(detail)\(hint)", underlying: database)
        }
        return SuretyError(.storeUnavailable, "cannot \(action) store \(url): \(error)")
    }
}
