import Surety
import SuretyPostgres
import SuretyTesting
import Testing

// Needs a server: see TestServer (Support.swift) for how to run these tests locally.
@Suite("PostgreSQL store conformance", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresConformanceTests {
    @Test("the PostgreSQL store passes every conformance group", arguments: StoreConformance.Group.allCases)
    func conformance(group: StoreConformance.Group) async throws {
        // The suite passes its own times (a fixed t0, leases expired by t0 + 31 s): the callers'
        // clock. The database clock has tests of its own (HardeningPostgresTests).
        try await TestServer.withFreshStore(leaseClock: .caller) { store in
            _ = try await StoreConformance { store }.run(group)
        }
    }
}
