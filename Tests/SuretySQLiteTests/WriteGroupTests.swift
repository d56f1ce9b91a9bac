import Dispatch
import Foundation
import GRDB
import Surety
@testable import SuretySQLite
import Synchronization
import Testing

@Suite("SQLite write groups")
struct WriteGroupTests {
    @Test("writes queued behind a busy writer share one transaction; one that fails rolls back alone")
    func groupedWrites() async throws {
        let temp = try await TempStore()
        let store = temp.store
        try await store.database.write { db in try db.execute(sql: "CREATE TABLE scratch (x INTEGER UNIQUE)") }
        // Count commits of the scratch table's writes.
        let observer = CommitCounter()
        store.database.add(transactionObserver: observer, extent: .databaseLifetime)

        // The first write holds the writer until every other write has queued behind it.
        let release = DispatchSemaphore(value: 0)
        let entered = Flag()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await store.write("hold") { db in
                    entered.set()
                    release.wait()
                    try db.execute(sql: "INSERT INTO scratch (x) VALUES (-1)")
                }
                return true
            }
            // The holder's transaction is running (its group taken) before the others arrive.
            let started = ContinuousClock.now + .seconds(20)
            while !entered.isSet {
                guard ContinuousClock.now < started else {
                    release.signal()
                    Issue.record("the held write never started")
                    break
                }
                await Task.yield()
            }
            for value in 0..<20 {
                group.addTask {
                    // 7 collides with 3 (UNIQUE): that write fails, and only it.
                    let x = value == 7 ? 3 : value
                    do {
                        try await store.write("insert \(value)") { db in try db.execute(sql: "INSERT INTO scratch (x) VALUES (?)", arguments: [x]) }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while store.writeGroups.pendingCount < 20 {
                guard ContinuousClock.now < deadline else { break }
                await Task.yield()
            }
            #expect(store.writeGroups.pendingCount == 20, "every write queued behind the held one")
            release.signal()
            var outcomes: [Bool] = []
            for try await ok in group { outcomes.append(ok) }
            #expect(outcomes.filter { !$0 }.count == 1, "exactly the colliding write failed")
        }
        let rows = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch") }
        #expect(rows == 20, "the held write and the 19 good ones are stored")
        #expect(observer.commits.withLock { $0 } == 2, "two commits: the held write, then the other twenty together")
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    final class CommitCounter: TransactionObserver, @unchecked Sendable {
        // Touched only on the writer's queue, and read by the test under the mutex.
        let commits = Mutex(0)
        var sawScratch = false
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { eventKind.tableName == "scratch" }
        func databaseDidChange(with event: DatabaseEvent) { sawScratch = true }
        func databaseDidCommit(_ db: Database) {
            if sawScratch { commits.withLock { $0 += 1 } }
            sawScratch = false
        }
        func databaseDidRollback(_ db: Database) { sawScratch = false }
    }
}
