import Foundation
import Surety

extension StoreConformance {
    struct LeadershipProbe: Error, Equatable {}

    /// `asMaintenanceLeader(of:)`: without ``Surety/MaintenanceLeadershipStore`` every caller runs; with
    /// it, one body at a time runs per task (a concurrent caller gets `nil` at once), other tasks
    /// are independent, a body's error passes through unchanged and ends the pass, and resigning
    /// lets the next caller lead. Leadership across two nodes is tested by each store's own tests.
    func maintenanceLeadership(_ store: any OperatedStore, _ check: Check) async throws {
        let solo = try await store.asMaintenanceLeader(of: "conformance") { 42 }
        try check.that(solo == 42, "an uncontested caller leads and gets the body's result")
        guard store is any MaintenanceLeadershipStore else { return }

        let holding = Gate()
        let release = Gate()
        try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                defer { holding.open() } // also when the body never ran: the checks below then fail instead of hanging
                return try await store.asMaintenanceLeader(of: "conformance") {
                    holding.open()
                    await release.wait()
                    return 1
                }
            }
            await holding.wait()
            let contender = try await store.asMaintenanceLeader(of: "conformance") { 2 }
            try check.that(contender == nil, "while one caller leads a task, another gets nil at once")
            let other = try await store.asMaintenanceLeader(of: "conformance-other") { 3 }
            try check.that(other == 3, "another task has its own leader")
            release.open()
            let first = try await group.next() ?? nil
            try check.that(first == 1, "the leader's body returned its result")
        }
        let next = try await store.asMaintenanceLeader(of: "conformance") { 4 }
        try check.that(next == 4, "after the leader finished, the next caller leads")

        do {
            _ = try await store.asMaintenanceLeader(of: "conformance") { () -> Int in throw LeadershipProbe() }
            try check.fail("the body's error was swallowed")
        } catch let error as LeadershipProbe {
            try check.that(error == LeadershipProbe(), "the body's error passes through")
        }
        let afterError = try await store.asMaintenanceLeader(of: "conformance") { 5 }
        try check.that(afterError == 5, "a body that threw ended its pass")

        await store.resignMaintenanceLeadership(of: "conformance")
        await store.resignMaintenanceLeadership(of: "never-led")
        let afterResigning = try await store.asMaintenanceLeader(of: "conformance") { 6 }
        try check.that(afterResigning == 6, "after resigning, the next caller leads again (nobody else contends)")
    }
}
