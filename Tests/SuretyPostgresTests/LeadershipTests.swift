import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import SuretyTesting
import Synchronization
import Testing

// Needs a server: see TestServer (Support.swift) for how to run these tests locally.
@Suite("PostgreSQL maintenance leadership", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct PostgresLeadershipTests {
    /// The backends holding this schema's advisory lock for `task`.
    static func holders(of task: String, schema: String, via store: PostgresStore) async throws -> [Int32] {
        try await store.client.query("""
            SELECT pid FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 2
              AND classid::bigint = (hashtext(\(schema))::bigint & 4294967295)
              AND objid::bigint = (hashtext('surety:' || \(task))::bigint & 4294967295)
            """).collect { try $0[0].decode(Int32.self) }
    }

    /// Counts the bodies running at once across both nodes; remembers the highest count.
    final class Overlap: Sendable {
        private let state = Mutex((now: 0, most: 0, passes: [String: Int]()))
        func enter(_ node: String) {
            state.withLock { state in
                state.now += 1
                state.most = max(state.most, state.now)
                state.passes[node, default: 0] += 1
            }
        }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
        func passes(_ node: String) -> Int { state.withLock { $0.passes[node] ?? 0 } }
    }

    /// One pass of `node` on `store`, recording overlap; returns whether it led.
    static func pass(_ store: PostgresStore, _ node: String, _ overlap: Overlap) async throws -> Bool {
        try await store.asMaintenanceLeader(of: "rescue") {
            overlap.enter(node)
            await Task.yield()
            overlap.leave()
            return true
        } ?? false
    }

    @Test("two nodes never lead at once; the second takes over when the first resigns, when its session dies, and when its store stops")
    func oneLeaderAtATime() async throws {
        try await TestServer.withFreshStore { first in
            let schema = first.configuration.schema
            let overlap = Overlap()
            try await TestServer.withSecondStore(of: first) { second in
                // The first node to ask leads, and keeps leading: the other's passes are skipped.
                #expect(try await Self.pass(first, "first", overlap))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (store, node) in [(first, "first"), (second, "second")] {
                        group.addTask {
                            for _ in 0..<200 { _ = try await Self.pass(store, node, overlap) }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(overlap.most == 1, "two bodies ran at once")
                #expect(overlap.passes("second") == 0, "the second node led while the first held the lock")
                #expect(overlap.passes("first") == 201)
                let firstPID = try #require(await first.leadershipSessionPID())
                #expect(try await Self.holders(of: "rescue", schema: schema, via: second) == [firstPID], "exactly the first node's session holds the lock")
                #expect(try await Self.holders(of: "rescue", schema: schema, via: second).count == 1)
                #expect(try await second.asMaintenanceLeader(of: "retention") { "second" } == "second", "another task has its own leader")

                // 1. The first resigns: the second takes over at its next pass; the first then waits.
                await first.resignLeadership(of: "rescue")
                #expect(try await Self.pass(second, "second", overlap), "the second node takes over after the first resigned")
                #expect(try await Self.pass(first, "first", overlap) == false)
                let secondLeads = await second.isLeader(of: "rescue")
                #expect(secondLeads)

                // 2. The leader's session dies (as when its process is killed or its network goes):
                // the server releases the lock and the first node takes over.
                let secondPID = try #require(await second.leadershipSessionPID())
                _ = try await first.client.query("SELECT pg_terminate_backend(\(secondPID))").collect { _ in () }
                try await eventuallyTrue("the lock is released with the session") {
                    try await Self.holders(of: "rescue", schema: schema, via: first).isEmpty
                }
                #expect(try await Self.pass(first, "first", overlap), "the first node takes over from the dead session")
                // The node whose session died notices at its next pass, reconnects, and does not lead:
                // this pass must return (a query written to the closed connection would hang).
                #expect(try await withTimeout(30, "a pass after the session died") { try await Self.pass(second, "second", overlap) } == false)
                let newPID = await second.leadershipSessionPID()
                #expect(newPID != secondPID, "the second node opened a new session")
                let secondStillLeads = await second.isLeader(of: "rescue")
                #expect(secondStillLeads == false)
                #expect(try await Self.holders(of: "rescue", schema: schema, via: first) == [try #require(await first.leadershipSessionPID())])
                #expect(overlap.most == 1)
            }
            // 3. Stop the first node's store while the second node (a new pool) leads: the first takes over.
            try await TestServer.withSecondStore(of: first) { third in
                await first.resignLeadership(of: "rescue")
                let thirdLeads = try await Self.pass(third, "third", overlap)
                let firstLeads = try await Self.pass(first, "first", overlap)
                #expect(thirdLeads && !firstLeads)
            }
            try await eventuallyTrue("the stopped store's session ends and the other node takes over") {
                try await Self.pass(first, "first", overlap)
            }
            #expect(overlap.most == 1)
        }
    }

    @Test("a body's error passes through unwrapped and the node keeps leading")
    func errorsPassThrough() async throws {
        struct Probe: Error {}
        try await TestServer.withFreshStore { store in
            await #expect(throws: Probe.self) {
                _ = try await store.asMaintenanceLeader(of: "alerts") { () -> Int in throw Probe() }
            }
            let value = try await store.asMaintenanceLeader(of: "alerts") { 1 }
            #expect(value == 1)
            let leads = await store.isLeader(of: "alerts")
            #expect(leads)
        }
    }

    @Test("stores on different schemas of one database lead independently")
    func schemasAreIndependent() async throws {
        try await TestServer.withFreshStore { first in
            try await TestServer.withFreshStore { other in
                let one = try await first.asMaintenanceLeader(of: "rescue") { 1 }
                let two = try await other.asMaintenanceLeader(of: "rescue") { 2 }
                #expect(one == 1 && two == 2)
                let (firstLeads, otherLeads) = (await first.isLeader(of: "rescue"), await other.isLeader(of: "rescue"))
                #expect(firstLeads && otherLeads)
            }
        }
    }

    @Test("leading takes no pooled connection: a pool of two still serves claims while a pass runs")
    func leadingDoesNotHoldAPooledConnection() async throws {
        var configuration = try PostgresStore.Configuration(url: try TestServer.requireURL(), schema: TestServer.freshSchema())
        configuration.maximumConnections = 2
        try await PostgresStore.withStore(configuration: configuration) { store in
            try await store.migrate()
            let holding = Gate()
            let release = Gate()
            try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask {
                    defer { holding.open() }
                    return try await store.asMaintenanceLeader(of: "rescue") {
                        holding.open()
                        await release.wait()
                        return 1
                    }
                }
                await holding.wait()
                // With the pool's two connections, enqueue and claim go on while the pass runs.
                _ = try await withTimeout(30, "enqueue and claim during a pass") {
                    _ = try await store.enqueue([.test()])
                    return try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "w", now: Date(timeIntervalSince1970: 1_800_000_000), leaseUntil: Date(timeIntervalSince1970: 1_800_000_060))).count
                }
                release.open()
                #expect(try await group.next() == 1)
            }
            try await TestServer.dropSchema(store)
        }
    }
}

/// Polls `condition` (bounded; never a fixed sleep to synchronise).
func eventuallyTrue(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now >= deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}
