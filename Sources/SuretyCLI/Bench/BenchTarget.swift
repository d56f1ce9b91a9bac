import Foundation
import Logging
import Surety
import SuretyPostgres
import SuretySQLite

/// Where a benchmark runs: every scenario gets its own fresh, empty store beside the given URL,
/// so scenarios do not see each other's rows, and a drain's worker process can open the same
/// scenario store. For SQLite that is a file `NAME-SCENARIO.sqlite` next to the given path; for
/// PostgreSQL a schema `SCHEMA_SCENARIO` (the URL's `?schema=`, default `public`, then the
/// scenario), dropped before and after a fresh scenario.
struct BenchTarget: Sendable {
    let url: StoreURL
    let synchronous: SynchronousMode

    /// `sqlite` or `postgres`.
    var kind: String { url.isPostgres ? "postgres" : "sqlite" }

    /// The durability settings that matter for the figures (for PostgreSQL read from the server).
    func settings() async throws -> [String: String] {
        guard case .postgres = url else {
            return ["journal_mode": "wal", "synchronous": synchronous.rawValue]
        }
        return try await withStore("settings", fresh: true) { store in
            try await (store as? PostgresStore)?.durabilitySettings() ?? [:]
        }
    }

    /// The scenario store's file (SQLite), or where the scenario's worker log goes.
    func path(_ scenario: String) -> String {
        guard case .sqlite = url else {
            return (NSTemporaryDirectory() as NSString).appendingPathComponent("surety-bench-\(getpid())-\(scenario)")
        }
        let base = url.absolutePath
        let folder = (base as NSString).deletingLastPathComponent
        var name = (base as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension
        if !ext.isEmpty { name = (name as NSString).deletingPathExtension }
        return (folder as NSString).appendingPathComponent("\(name)-\(scenario).\(ext.isEmpty ? "sqlite" : ext)")
    }

    /// The scenario's PostgreSQL schema: lower case letters, digits and underscores.
    static func schema(base: String, scenario: String) -> String {
        let cleaned = String(scenario.lowercased().unicodeScalars.map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" })
        return String("\(base)_bench_\(cleaned)".prefix(63))
    }

    /// The arguments a child `surety bench` needs to open the same scenario store. A PostgreSQL
    /// URL (it may hold a password) goes through the environment, not the command line.
    func childArguments() -> [String] {
        guard case .sqlite = url else { return [] }
        return ["--store", url.description, "--synchronous", synchronous.rawValue]
    }

    /// The environment a child `surety bench` needs (the PostgreSQL URL, in `SURETY_STORE`).
    func childEnvironment() -> [String: String]? {
        guard case .postgres(let text, let schema) = url else { return nil }
        var environment = ProcessInfo.processInfo.environment
        let separator = text.contains("?") ? "&" : "?"
        environment["SURETY_STORE"] = schema == "public" ? text : text + separator + "schema=\(schema)"
        return environment
    }

    /// Opens the scenario's store (emptied first when `fresh`), runs `body`, and closes it; with
    /// `fresh` the files (or the schema) are removed afterwards.
    func withStore<T: Sendable>(_ scenario: String, fresh: Bool, _ body: (any CommandStore) async throws -> T) async throws -> T {
        switch url {
        case .sqlite:
            let path = path(scenario)
            if fresh { Self.remove(path) }
            defer { if fresh { Self.remove(path) } }
            let store = try await StoreOpener.open(.sqlite(path: path), synchronous: synchronous.configuration, create: true)
            return try await body(store)
        case .postgres(let text, let base):
            let configuration = try PostgresStore.Configuration(url: text, schema: Self.schema(base: base, scenario: scenario))
            return try await PostgresStore.withStore(configuration: configuration, logger: Logs.silent("surety.postgres")) { store in
                do {
                    if fresh { try await store.dropSchema() }
                    try await store.migrate()
                    let value = try await body(store)
                    if fresh { try await store.dropSchema() }
                    return value
                } catch {
                    if fresh { try? await store.dropSchema() }
                    throw StoreOpener.describe(error, action: "prepare the schema of", url: url)
                }
            }
        }
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
