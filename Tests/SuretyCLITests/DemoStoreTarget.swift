import Foundation
import GRDB
import PostgresNIO
import Surety
import SuretyCLI
import SuretyPostgres
import SuretySQLite
import Testing

/// The store a multi-process test runs its `surety worker` processes on (an SQLite file, or a
/// fresh PostgreSQL schema), with the demo tables, and the reads its checks need from the
/// database itself (never from a worker's counters).
struct DemoStoreTarget: Sendable {
    enum Kind: String, Sendable, CustomStringConvertible {
        case sqlite, postgres
        var description: String { rawValue }
    }

    /// One row of `surety_attempts`.
    struct AttemptRow: Sendable {
        var jobID: JobID
        var worker: String
        var outcome: String
    }

    let kind: Kind
    /// The URL `surety` gets.
    let url: String
    let store: any JobInspectionStore & OperatorActionStore
    let tables: DemoDatabase
    private let attemptRows: @Sendable () async throws -> [AttemptRow]

    /// Runs `body` on a migrated store with the demo tables (created by `surety migrate
    /// --demo-tables`, as an operator would); a PostgreSQL schema is dropped afterwards.
    /// Gated by ``MultiProcessGate``: one such test at a time.
    static func with<T: Sendable>(_ kind: Kind, dir: TempDir, _ body: (DemoStoreTarget) async throws -> T) async throws -> T {
        try await MultiProcessGate.exclusive { try await open(kind, dir: dir, body) }
    }

    private static func open<T: Sendable>(_ kind: Kind, dir: TempDir, _ body: (DemoStoreTarget) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            let url = dir.storeURL()
            let migrate = try await CLI.run(["migrate", "--store", url, "--demo-tables"], in: dir)
            try #require(migrate.status == 0, "\(migrate)")
            let store = try await openStore(dir)
            let database = store.database
            return try await body(DemoStoreTarget(kind: kind, url: url, store: store, tables: .sqlite(database)) {
                try await database.read { db in
                    try Row.fetchAll(db, sql: "SELECT job_id, worker, outcome FROM surety_attempts").map {
                        AttemptRow(jobID: JobID(rawValue: $0["job_id"]), worker: $0["worker"], outcome: $0["outcome"])
                    }
                }
            })
        case .postgres:
            return try await PGServer.withFreshSchema { url, store in
                let migrate = try await CLI.run(["migrate", "--store", url, "--demo-tables"], in: dir)
                try #require(migrate.status == 0, "\(migrate)")
                return try await body(DemoStoreTarget(kind: kind, url: url, store: store, tables: .postgres(store)) {
                    let rows = try await store.client.query("SELECT job_id, worker, outcome FROM surety_attempts", logger: Logger(label: "test"))
                    var result: [AttemptRow] = []
                    for try await (job, worker, outcome) in rows.decode((Int64, String, String).self) {
                        result.append(AttemptRow(jobID: JobID(rawValue: job), worker: worker, outcome: outcome))
                    }
                    return result
                })
            }
        }
    }

    /// Every attempt ever recorded.
    func attempts() async throws -> [AttemptRow] { try await attemptRows() }

    /// Jobs not yet in a final state.
    func unfinished() async throws -> Int {
        try await store.counts().filter { !JobState.terminal.contains($0.state) }.reduce(0) { $0 + $1.count }
    }

    /// Every job, paged by id.
    func allJobs() async throws -> [JobRecord] {
        var all: [JobRecord] = []
        var before: JobID?
        while true {
            let page = try await store.jobs(JobFilter(beforeID: before, limit: 1000))
            all += page
            guard page.count == 1000, let last = page.last else { return all }
            before = last.id
        }
    }
}
