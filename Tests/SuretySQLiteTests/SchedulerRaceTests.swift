import Foundation
import Surety
import SuretySQLite
import SuretyTesting
import Testing

@Suite("Schedules on SQLite")
struct SQLiteSchedulerRaceTests {
    @Test("two schedulers on two connections to one SQLite file enqueue exactly one job per slot")
    func oneJobPerSlot() async throws {
        let temp = try await TempStore()
        let second = try SQLiteStore(path: temp.store.path)
        try await second.migrate()
        let outcome = try await SchedulerRace.run(temp.store, second)
        #expect(outcome.jobs.map(\.runAt) == outcome.slots, "one job per slot, none missing, none twice")
        #expect(Set(outcome.jobs.compactMap(\.uniqueKey)).count == outcome.slots.count)
    }
}
