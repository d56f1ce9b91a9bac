import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

@Suite("Opening the file, configuration and migrations")
struct OpeningAndMigrationTests {
    @Test("a file of garbage bytes is refused with a clear storeCorrupt error")
    func garbageFile() async throws {
        let temp = try await TempStore()
        let path = temp.folder.appendingPathComponent("garbage.sqlite").path
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 13) })
        try garbage.write(to: URL(fileURLWithPath: path))
        let error = try await #require(throws: SuretyError.self) {
            let store = try SQLiteStore(path: path)
            try await store.migrate()
        }
        #expect(error.code == .storeCorrupt)
        #expect(error.message.contains(path) && error.message.contains("not a SQLite database"))
    }

    @Test("a path in a folder that does not exist is refused with a clear storeUnavailable error")
    func missingFolder() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("surety-missing-\(UUID().uuidString)/jobs.sqlite").path
        let error = try #require(throws: SuretyError.self) { try SQLiteStore(path: path) }
        #expect(error.code == .storeUnavailable)
        #expect(error.message.contains(path) && error.message.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a folder as the path, an in-memory path and a bad configuration are refused")
    func badPaths() async throws {
        let temp = try await TempStore()
        let folderError = try #require(throws: SuretyError.self) { try SQLiteStore(path: temp.folder.path) }
        #expect(folderError.code == .storeUnavailable && folderError.message.contains("folder"))
        let memory = try #require(throws: SuretyError.self) { try SQLiteStore(path: ":memory:") }
        #expect(memory.code == .invalidArgument)
        let readers = try #require(throws: SuretyError.self) {
            try SQLiteStore(path: temp.path, configuration: .init(maximumReaderCount: 0))
        }
        #expect(readers.code == .invalidArgument)
    }

    @Test("WAL mode, synchronous, busy timeout and foreign keys are set as configured")
    func pragmas() async throws {
        let full = try await TempStore()
        let (journal, synchronous, timeout, foreignKeys) = try await full.store.database.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Int.fetchOne(db, sql: "PRAGMA busy_timeout"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys")
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 2) // FULL
        #expect(timeout == 5000)
        #expect(foreignKeys == 1)
        let defaults = SQLiteStore.Configuration()
        #expect(defaults.synchronous == .full && defaults.busyTimeout == .seconds(5) && defaults.maximumReaderCount == 4)

        let normal = try await TempStore(configuration: .init(synchronous: .normal, busyTimeout: .milliseconds(250), maximumReaderCount: 2))
        let (normalSynchronous, normalTimeout) = try await normal.store.database.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA busy_timeout"))
        }
        #expect(normalSynchronous == 1) // NORMAL
        #expect(normalTimeout == 250)
        #expect(normal.store.database.configuration.maximumReaderCount == 2)
    }

    @Test("an unmigrated store says to run migrate")
    func unmigrated() async throws {
        let temp = try await TempStore(migrated: false)
        let error = try await #require(throws: SuretyError.self) {
            try await temp.store.enqueue([Fixture.job()])
        }
        #expect(error.code == .storeCorrupt && error.message.contains("migrate"))
        let readError = try await #require(throws: SuretyError.self) { try await temp.store.counts() }
        #expect(readError.code == .storeCorrupt)
    }

    @Test("migrate is idempotent, creates the documented tables and indexes, and data survives reopening")
    func migrationsAndReopen() async throws {
        let temp = try await TempStore()
        try await temp.store.migrate()
        try await temp.store.migrate()
        let (tables, indexes, migrations) = try await temp.store.database.read { db in
            (
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'surety_%' ORDER BY name"),
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'surety_%' ORDER BY name"),
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            )
        }
        #expect(tables == ["surety_alerts", "surety_attempts", "surety_audit", "surety_cancel_requests", "surety_effects", "surety_jobs", "surety_queue_limits", "surety_rate_buckets", "surety_schedules", "surety_workflow_steps", "surety_workflows"])
        #expect(indexes == [
            "surety_attempts_ended", "surety_attempts_job", "surety_audit_job", "surety_effects_key", "surety_jobs_claimable", "surety_jobs_dead",
            "surety_jobs_finished", "surety_jobs_leases", "surety_jobs_partitioned", "surety_jobs_running_keys", "surety_jobs_unique",
            "surety_workflow_steps_active", "surety_workflow_steps_job", "surety_workflows_state", "surety_workflows_unique",
        ])
        #expect(migrations == ["v1", "v2_alerts", "v2_cancel_requests", "v2_flow_limits", "v2_schedules", "v2_trace_context", "v2_workflows", "v3_waiting_conditions"])

        let ids = try await temp.store.enqueue([
            Fixture.job(key: "k", tags: ["a"], correlation: ["order_id": "o-1"]), Fixture.job(runAt: Fixture.t0.addingTimeInterval(60)),
        ]).map(\.id)
        let claimed = try await Fixture.claim(temp.store)
        _ = try await temp.store.finish([Fixture.finish(claimed[0], at: Fixture.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: Fixture.t0.addingTimeInterval(5)), error: Fixture.boom)])
        let before = try await temp.store.jobs(JobFilter())
        let attemptsBefore = try await temp.store.attempts(of: ids[0])

        let reopened = try temp.reopen()
        try await reopened.migrate()
        let after = try await reopened.jobs(JobFilter())
        #expect(after == before)
        #expect(try await reopened.attempts(of: ids[0]) == attemptsBefore)
        let again = try await reopened.enqueue([Fixture.job(key: "k")])[0]
        #expect(!again.inserted && again.id == ids[0])
    }

    @Test("a file migrated by a newer Surety is refused")
    func supersededSchema() async throws {
        let temp = try await TempStore()
        try await temp.store.database.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999')")
        }
        let error = try await #require(throws: SuretyError.self) { try await temp.store.migrate() }
        #expect(error.code == .storeCorrupt && error.message.contains("newer version"))
    }

    @Test("the application keeps its own tables in the same file")
    func sharedFile() async throws {
        let temp = try await TempStore()
        try await temp.store.database.write { db in
            try db.execute(sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO orders (total) VALUES (42)")
        }
        let reopened = try temp.reopen()
        try await reopened.migrate()
        let total = try await reopened.database.read { db in try Int.fetchOne(db, sql: "SELECT total FROM orders") }
        #expect(total == 42)
    }
}
