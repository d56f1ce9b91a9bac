import Foundation
import Surety
import SuretyPostgres
import SuretyTesting
import Testing

@Suite("Schedules on PostgreSQL", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresSchedulerRaceTests {
    @Test("two schedulers on two stores (two pools) on one schema enqueue exactly one job per slot")
    func oneJobPerSlot() async throws {
        try await TestServer.withFreshStore { store in
            try await TestServer.withSecondStore(of: store) { second in
                let outcome = try await SchedulerRace.run(store, second)
                #expect(outcome.jobs.map(\.runAt) == outcome.slots, "one job per slot, none missing, none twice")
                #expect(Set(outcome.jobs.compactMap(\.uniqueKey)).count == outcome.slots.count)
            }
        }
    }
}
