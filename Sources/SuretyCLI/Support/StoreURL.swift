import Foundation
import Surety
import SuretyPostgres

/// Where a store lives, parsed from a store URL.
///
/// - `sqlite:PATH` and `sqlite://PATH`: an SQLite file; `PATH` is relative to the working folder
///   unless it starts with `/` (so `sqlite:///var/lib/surety.sqlite` is absolute). A leading `~/`
///   is the home folder.
/// - `postgres://USER:PASSWORD@HOST:PORT/DATABASE[?schema=NAME&sslmode=require]` (also
///   `postgresql://`): a PostgreSQL database; the tables live in the schema `NAME` (default
///   `public`). The password never appears in ``description`` or in error messages.
public enum StoreURL: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    /// A PostgreSQL store: `url` is the connection URL without the `schema` parameter.
    case postgres(url: String, schema: String)

    /// The URL used when neither `--store` nor `SURETY_STORE` is given.
    public static let defaultURL = "sqlite:surety.sqlite"
    /// The environment variable read when `--store` is not given.
    public static let environmentVariable = "SURETY_STORE"

    /// Parses a store URL.
    /// - Throws: `SuretyError` with code `invalid_store_url`.
    public static func parse(_ text: String) throws -> StoreURL {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            return try parsePostgres(trimmed)
        }
        var rest: Substring
        if lower.hasPrefix("sqlite://") {
            rest = trimmed.dropFirst("sqlite://".count)
        } else if lower.hasPrefix("sqlite:") {
            rest = trimmed.dropFirst("sqlite:".count)
        } else {
            let scheme = trimmed.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            let hint = trimmed.contains(":") ? "unsupported store scheme '\(scheme)'" : "'\(trimmed)' has no scheme"
            throw SuretyError(.invalidStoreURL, "\(hint); expected sqlite:PATH (for example sqlite:surety.sqlite) or postgres://user:password@host:port/database")
        }
        if rest.hasPrefix("~/") {
            rest = Substring(FileManager.default.homeDirectoryForCurrentUser.path + rest.dropFirst())
        }
        guard !rest.isEmpty else {
            throw SuretyError(.invalidStoreURL, "the store URL '\(trimmed)' names no file; expected sqlite:PATH")
        }
        guard !rest.contains("\0") else {
            throw SuretyError(.invalidStoreURL, "the store path contains a NUL character")
        }
        return .sqlite(path: String(rest))
    }

    /// Parses a PostgreSQL URL with the library's own rules (``PostgresStore/Configuration/init(url:schema:)``:
    /// host, database, port, sslmode, the `schema` parameter), so a typo fails before anything
    /// connects and `?schema=` means the same here as to the library, then keeps the schema apart
    /// from the connection URL.
    private static func parsePostgres(_ text: String) throws -> StoreURL {
        let configuration: PostgresStore.Configuration
        do {
            configuration = try PostgresStore.Configuration(url: text)
        } catch let error as SuretyError {
            throw SuretyError(.invalidStoreURL, error.message)
        }
        return .postgres(url: PostgresStore.Configuration.removingSchemaParameter(from: text), schema: configuration.schema)
    }

    /// The store URL from `--store`, else `SURETY_STORE`, else ``defaultURL``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreURL {
        if let option { return try parse(option) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return try parse(fromEnvironment)
        }
        return try parse(defaultURL)
    }

    /// The SQLite file's absolute path; for PostgreSQL, the URL without its password.
    public var absolutePath: String {
        switch self {
        case .sqlite(let path):
            if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
            let cwd = FileManager.default.currentDirectoryPath
            return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
        case .postgres:
            return description
        }
    }

    /// Whether the store is PostgreSQL.
    public var isPostgres: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// The URL, with a PostgreSQL password replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url, let schema):
            PostgresStore.Configuration.redacted(url) + (schema == "public" ? "" : (url.contains("?") ? "&" : "?") + "schema=\(schema)")
        }
    }
}
