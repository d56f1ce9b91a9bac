import Foundation
import GRDB
import Surety
import SuretySQLite

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

enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let acme = try! TenantID("acme")
    static let globex = try! TenantID("globex")
    static let boom = AttemptError(type: "Boom", message: "provider said 502", errorClass: .transient)

    static func job(
        _ type: String = "test.job", queue: String = "default", priority: Int = 0, tenant: TenantID = acme,
        payload: String = "{}", runAt: Date = t0, maxAttempts: Int = 3, key: String? = nil,
        scope: UniqueScope = .whileActive, tags: [String] = [], correlation: [String: String] = [:]
    ) -> NewJob {
        NewJob(
            type: type, queue: queue, priority: priority, tenant: tenant, payload: payload, runAt: runAt,
            enqueuedAt: t0, maxAttempts: maxAttempts, uniqueKey: key, uniqueScope: scope, tags: tags, correlation: correlation
        )
    }

    static func claim(
        _ store: SQLiteStore, at now: Date = t0, limit: Int = 10, queues: [String] = ["default"], worker: String = "w1",
        lease: TimeInterval = 30
    ) async throws -> [ClaimedJob] {
        try await store.claim(ClaimRequest(queues: queues, limit: limit, worker: worker, now: now, leaseUntil: now.addingTimeInterval(lease)))
    }

    static func finish(
        _ job: ClaimedJob, at: Date, outcome: AttemptOutcome = .succeeded, next: NextState = .completed,
        error: AttemptError? = nil, worker: String = "w1", onlyIfExpiredBy: Date? = nil
    ) -> AttemptFinish {
        AttemptFinish(
            lease: job.lease, attempt: job.attempt, worker: worker, startedAt: t0, endedAt: at, outcome: outcome,
            error: error, next: next, onlyIfLeaseExpiredBy: onlyIfExpiredBy
        )
    }

    static func action(_ reason: String = "fixed the provider key", at: Date = t0.addingTimeInterval(100)) -> OperatorAction {
        try! OperatorAction(actor: "ops@example.com", reason: reason, at: at)
    }
}

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
