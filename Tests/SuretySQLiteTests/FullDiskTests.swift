import Foundation
import GRDB
import Surety
@testable import SuretySQLite
import Testing

/// A full disk, simulated with `PRAGMA max_page_count` on the writer connection (SQLite then
/// answers SQLITE_FULL exactly as it does when the file system is full).
@Suite("SQLite store on a full disk")
struct FullDiskTests {
    /// Caps the file at its current size plus `pages` pages.
    static func cap(_ store: SQLiteStore, extraPages pages: Int) throws {
        try store.database.writeWithoutTransaction { db in
            let used = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(used + pages)")
        }
    }

    @Test("an enqueue that does not fit fails with a clear storeUnavailable error and writes nothing; the jobs already stored and their finishes are kept")
    func enqueueOnFullDisk() async throws {
        let temp = try await TempStore()
        let store = temp.store
        let stored = try await store.enqueue([Fixture.job(), Fixture.job()])
        try Self.cap(store, extraPages: 2)

        // 200 jobs of 4 KB each need far more than two pages.
        let big = String(repeating: "x", count: 4096)
        let batch = (0..<200).map { _ in Fixture.job(payload: "{\"blob\":\"\(big)\"}") }
        let error = await #expect(throws: SuretyError.self) { try await store.enqueue(batch) }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.description.contains("is full") == true, "the message says what happened: \(String(describing: error))")
        let counts = try await store.counts()
        #expect(counts.reduce(0) { $0 + $1.count } == 2, "the failed batch left no row behind")

        // The store still works within its space: a claim and a finish of the stored jobs.
        let claimed = try await store.claim(ClaimRequest(queues: ["default"], limit: 2, worker: "w", now: Fixture.t0, leaseUntil: Fixture.t0.addingTimeInterval(60)))
        #expect(Set(claimed.map(\.id)) == Set(stored.map(\.id)))
        let finishes = claimed.map { job in
            AttemptFinish(lease: job.lease, attempt: job.attempt, worker: "w", startedAt: Fixture.t0, endedAt: Fixture.t0, outcome: .succeeded, next: .completed)
        }
        #expect(try await store.finish(finishes) == [.applied, .applied])

        // Space again: the same batch goes in whole.
        try Self.cap(store, extraPages: 100_000)
        let inserted = try await store.enqueue(batch)
        #expect(inserted.count == 200 && inserted.allSatisfy(\.inserted))
    }

    @Test("writes that share a transaction when the disk fills: the failing one fails alone or the group fails whole, never half-written")
    func groupedWritesOnFullDisk() async throws {
        let temp = try await TempStore()
        let store = temp.store
        try Self.cap(store, extraPages: 3)
        let big = String(repeating: "y", count: 4096)
        // Concurrent enqueues share write groups; some fit, the large ones cannot.
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<24 {
                group.addTask {
                    let payload = index % 3 == 0 ? "{\"blob\":\"\(String(repeating: big, count: 4))\"}" : "{}"
                    do {
                        _ = try await store.enqueue([Fixture.job(payload: payload)])
                        return (index, true)
                    } catch {
                        return (index, false)
                    }
                }
            }
            var outcomes: [Int: Bool] = [:]
            for await (index, ok) in group { outcomes[index] = ok }
            return outcomes
        }
        let succeeded = outcomes.values.filter { $0 }.count
        let counts = try await store.counts()
        #expect(counts.reduce(0) { $0 + $1.count } == succeeded, "exactly the enqueues that reported success are stored")
        #expect(outcomes.filter { $0.key % 3 == 0 }.allSatisfy { !$0.value }, "no 16 KB job fits in three pages")
    }
}
