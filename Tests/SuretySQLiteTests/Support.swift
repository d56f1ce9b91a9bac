import Foundation
import GRDB
import Surety
import SuretySQLite
import SuretyTesting

/// A fresh SQLite file in its own temporary folder, removed when the value is released.
final class TempStore: Sendable {
    let folder: URL
    let path: String
    let store: SQLiteStore

    init(migrated: Bool = true, configuration: SQLiteStore.Configuration = .init()) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("surety-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("jobs.sqlite").path
        store = try SQLiteStore(path: path, configuration: configuration)
        if migrated { try await store.migrate() }
    }

    /// Opens the same file again (a new pool, as after a restart).
    func reopen() throws -> SQLiteStore {
        try SQLiteStore(path: path)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// The conformance suite's fixtures (jobs, claims, finishes at a fixed time), shared with it.
typealias Fixture = StoreConformance.Fixtures

extension SQLiteStore {
    /// A raw column of one job, for checks on what is stored.
    func column<T: DatabaseValueConvertible & Sendable>(_ name: String, of id: JobID, as type: T.Type = T.self) async throws -> T? {
        try await database.read { db in
            try T.fetchOne(db, sql: "SELECT \(name) FROM surety_jobs WHERE id = ?", arguments: [id.rawValue])
        }
    }

    /// Rows in a table, optionally for one job.
    func rowCount(_ table: String, job: JobID? = nil) async throws -> Int {
        try await database.read { db in
            if let job {
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE job_id = ?", arguments: [job.rawValue]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        }
    }
}
