import ArgumentParser
import Foundation
import GRDB
import Surety
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
            "The store URL: sqlite:PATH or sqlite://PATH. Default: $SURETY_STORE, else sqlite:surety.sqlite in the working folder.",
            valueName: "url"
        )
    )
    var store: String?

    @Option(name: .long, help: "SQLite's synchronous setting: full (durable at every commit) or normal (faster; a power cut may lose the last commits).")
    var synchronous: SynchronousMode = .full

    /// The parsed store URL.
    func url() throws -> StoreURL { try StoreURL.resolve(store) }

    /// Opens the store and brings its schema up to date.
    /// - Parameter create: whether a missing file is created; when `false`, a missing file is an
    ///   error (read and operator commands never create a store by accident).
    func open(create: Bool) async throws -> (SQLiteStore, StoreURL) {
        let url = try url()
        let store = try await StoreOpener.open(url, synchronous: synchronous.configuration, create: create)
        return (store, url)
    }
}

/// Opens SQLite stores with errors a person can act on.
enum StoreOpener {
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
