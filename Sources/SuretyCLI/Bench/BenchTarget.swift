import Foundation
import Surety
import SuretySQLite

/// Where a benchmark runs: every scenario gets its own fresh, empty store beside the given URL
/// (for SQLite a file `NAME-SCENARIO.sqlite` next to the given path), so scenarios do not see
/// each other's rows, and a drain's worker process can open the same scenario store.
struct BenchTarget: Sendable {
    let url: StoreURL
    let synchronous: SynchronousMode

    /// `sqlite` or `postgres`.
    var kind: String { "sqlite" }

    /// The durability settings that matter for the figures.
    var settings: [String: String] {
        ["journal_mode": "wal", "synchronous": synchronous.rawValue]
    }

    /// The scenario store's file.
    func path(_ scenario: String) -> String {
        let base = url.absolutePath
        let folder = (base as NSString).deletingLastPathComponent
        var name = (base as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension
        if !ext.isEmpty { name = (name as NSString).deletingPathExtension }
        return (folder as NSString).appendingPathComponent("\(name)-\(scenario).\(ext.isEmpty ? "sqlite" : ext)")
    }

    /// The arguments a child `surety bench` needs to open the same scenario store.
    func childArguments() -> [String] {
        ["--store", url.description, "--synchronous", synchronous.rawValue]
    }

    /// Opens the scenario's store (emptied first when `fresh`), runs `body`, and closes it; with
    /// `fresh` the files are removed afterwards.
    func withStore<T: Sendable>(_ scenario: String, fresh: Bool, _ body: (any JobStore) async throws -> T) async throws -> T {
        let path = path(scenario)
        if fresh { Self.remove(path) }
        defer { if fresh { Self.remove(path) } }
        let store = try await StoreOpener.open(.sqlite(path: path), synchronous: synchronous.configuration, create: true)
        return try await body(store)
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
