import Foundation
import Surety

extension StoreConformance {
    /// Schedules: saved definitions keep their pause state and last slot across re-saves; pause
    /// and resume say who and why; the last slot never moves backwards; each slot's job is one
    /// job even when enqueued twice at once (forever unique key).
    func schedules(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any ScheduleStore & OperatedStore else {
            try check.fail("the store does not implement ScheduleStore")
        }
        let now = Fixtures.t0
        let nightly = ScheduleDefinition(name: "nightly", expression: "0 30 2 * * *", timeZone: "Europe/Berlin", jobType: "report", queue: "default", tenant: Fixtures.acme, overlap: "skip", missed: "run_latest")
        let hourly = ScheduleDefinition(name: "hourly", expression: "@hourly", timeZone: "UTC", jobType: "sync", queue: "default", tenant: Fixtures.globex, overlap: "allow", missed: "catch_up:3600")
        try await store.saveSchedules([nightly, hourly], now: now)
        var records = try await store.schedules()
        try check.that(records.map(\.definition) == [hourly, nightly], "schedules are listed by name with their definitions, got \(records.map(\.definition.name))")
        try check.that(records.allSatisfy { !$0.paused && $0.lastSlot == nil && $0.createdAt == now }, "a new schedule is active, has no last slot and was created now")

        try await store.recordScheduleSlot("nightly", slot: now.addingTimeInterval(60), jobID: JobID(7))
        try await store.recordScheduleSlot("nightly", slot: now.addingTimeInterval(30), jobID: JobID(6))
        try await store.recordScheduleSlot("nightly", slot: now.addingTimeInterval(60), jobID: nil)
        let paused = try await store.setSchedulePaused("nightly", paused: true, action: Fixtures.operatorAction("provider outage"))
        try check.that(paused?.paused == true && paused?.changedBy == "ops@example.com" && paused?.changeReason == "provider outage", "pause records who and why")
        try check.that(try await store.setSchedulePaused("nope", paused: true, action: Fixtures.operatorAction()) == nil, "an unknown schedule is nil")

        var changed = nightly
        changed.expression = "0 45 2 * * *"
        try await store.saveSchedules([changed], now: now.addingTimeInterval(500))
        records = try await store.schedules()
        let stored = records.first { $0.definition.name == "nightly" }
        try check.that(stored?.definition == changed, "a re-save updates the definition")
        try check.that(stored?.paused == true, "a re-save keeps the pause")
        try check.that(stored?.lastSlot == now.addingTimeInterval(60), "the last slot never moves backwards, got \(String(describing: stored?.lastSlot))")
        try check.that(stored?.lastJobID == JobID(7), "the last job id is the one of the latest slot")
        try check.that(stored?.createdAt == now && stored?.updatedAt == now.addingTimeInterval(500), "created stays, updated moves")

        let resumed = try await store.setSchedulePaused("nightly", paused: false, action: Fixtures.operatorAction("back"))
        try check.that(resumed?.paused == false && resumed?.changeReason == "back", "resume")

        // One job per slot, even when two schedulers enqueue it at the same moment.
        let slotJob = Fixtures.job("report", key: "schedule:nightly@2027-01-01T01:30:00Z", scope: .forever)
        async let first = store.enqueue([slotJob])
        async let second = store.enqueue([slotJob])
        let results = try await [first[0], second[0]]
        try check.that(results.filter(\.inserted).count == 1 && results[0].id == results[1].id, "a slot's key admits one job")
    }
}
