import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import Testing

/// The PostgreSQL server the tests use: `SURETY_TEST_POSTGRES_URL`.
///
/// To run these tests locally:
///
///     export SURETY_TEST_POSTGRES_URL=$(scripts/postgres.sh start /tmp/surety-pg | tail -1)
///     swift test --filter SuretyPostgresTests
///     scripts/postgres.sh stop /tmp/surety-pg
///
/// Without the variable they are skipped, except under CI (`CI=true`), where they fail: CI must
/// never pass without having run them (scripts/test starts the server).
enum TestServer {
    static let url = ProcessInfo.processInfo.environment["SURETY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Run when a server is configured, and under CI always (to fail there when it is not).
    static let enabled = url != nil || isCI

    struct Missing: Error, CustomStringConvertible {
        var description: String { "PostgreSQL is required under CI; scripts/test starts it (set SURETY_TEST_POSTGRES_URL)" }
    }

    static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    /// A schema name no other test uses.
    static func freshSchema() -> String {
        "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Runs `body` with a migrated store on a fresh schema, and drops the schema afterwards.
    /// - Parameter leaseClock: Default: the store's default, the database clock. The conformance
    ///   suite passes `.caller`: it drives lease expiry with times of its own.
    ///   `operationTimeout`: Default: the store's default (60 s).
    static func withFreshStore<T>(
        leaseClock: PostgresStore.LeaseClock = .database, operationTimeout: Duration? = .seconds(60),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        var configuration = try PostgresStore.Configuration(url: try requireURL(), schema: freshSchema())
        configuration.leaseClock = leaseClock
        configuration.operationTimeout = operationTimeout
        // Tests run in parallel, each with its own pool: keep them small.
        configuration.maximumConnections = 8
        return try await PostgresStore.withStore(configuration: configuration) { store in
            try await store.migrate()
            do {
                let value = try await body(store)
                try await dropSchema(store)
                return value
            } catch {
                try? await dropSchema(store)
                throw error
            }
        }
    }

    /// Runs `body` with a second store (another client) on the same schema as `store`.
    static func withSecondStore<T>(of store: PostgresStore, _ body: (PostgresStore) async throws -> T) async throws -> T {
        try await PostgresStore.withStore(configuration: store.configuration, body)
    }

    static func dropSchema(_ store: PostgresStore) async throws {
        // The schema name is validated (a-z, 0-9, _).
        try await store.client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(store.configuration.schema)\" CASCADE"))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation`, failing with ``TimedOut`` after `seconds` (a bound, never a way to wait).
func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimedOut(what: what) }
        return first
    }
}

extension NewJob {
    static func test(queue: String = "default", key: String? = nil, runAt: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> NewJob {
        NewJob(
            type: "test.job", queue: queue, priority: 0, tenant: .system, payload: "{}", runAt: runAt,
            enqueuedAt: Date(timeIntervalSince1970: 1_800_000_000), maxAttempts: 3, uniqueKey: key
        )
    }
}
