import Foundation
import Surety
import SuretyPostgres
import SuretySQLite

/// How a prove run is shaped (`surety prove`'s options).
struct ProveSettings: Sendable {
    var jobs: Int
    /// Kill rounds per worker crash point (each kills one process).
    var rounds: Int
    var seed: UInt64
    var executable: String
    /// Where child processes' logs go (kept after a failed row).
    var workDirectory: String
    var childTimeout: Duration = .seconds(30)
    var drainTimeout: Duration = .seconds(180)
    var verbose = false
}

/// Runs every chosen crash point against one store URL, each in a store of its own beside the
/// user's (never in it), and returns the rows.
enum ProveRunner {
    static func run(_ url: StoreURL, points: [CrashPoint], settings: ProveSettings, progress: @Sendable (ProveRow) -> Void) async throws -> [ProveRow] {
        let provider = ProveProvider()
        return try await provider.withRunning { providerURL in
            var random = ProveRandom(seed: settings.seed)
            var rows: [ProveRow] = []
            for point in points {
                let scenarioSeed = random.next()
                let row = try await withScenarioStore(url, point: point, seed: scenarioSeed) { store, childURL, name in
                    var scenario = ProveScenario(point: point, settings: settings, provider: provider, providerURL: providerURL,
                                                 storeURL: childURL, storeName: name, random: ProveRandom(seed: scenarioSeed))
                    return try await scenario.run(store)
                }
                progress(row)
                rows.append(row)
            }
            return rows
        }
    }

    /// A store of the scenario's own: for SQLite a new file in the given file's folder, for
    /// PostgreSQL a new schema on the given server; removed afterwards whatever happened.
    static func withScenarioStore(
        _ url: StoreURL, point: CrashPoint, seed: UInt64,
        _ body: (any CommandStore, String, String) async throws -> ProveRow
    ) async throws -> ProveRow {
        let suffix = String(seed, radix: 16)
        switch url {
        case .sqlite:
            let folder = (url.absolutePath as NSString).deletingLastPathComponent
            let path = folder + "/.surety-prove-\(suffix).sqlite"
            defer { for extra in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + extra) } }
            let scenarioURL = StoreURL.sqlite(path: path)
            let store = try await StoreOpener.open(scenarioURL, synchronous: .full, create: true)
            return try await body(store, "sqlite:\(path)", "sqlite")
        case .postgres(let text, _):
            let schema = "surety_prove_\(suffix)"
            let scenarioURL = StoreURL.postgres(url: text, schema: schema)
            let childURL = text + (text.contains("?") ? "&" : "?") + "schema=\(schema)"
            return try await StoreOpener.withPostgres(scenarioURL, create: true) { store in
                do {
                    let row = try await body(store, childURL, "postgres")
                    try await store.dropSchema()
                    return row
                } catch {
                    try? await store.dropSchema()
                    throw error
                }
            }
        }
    }
}
