import Foundation
@testable import Surety
import SuretyTesting
import Synchronization
import Testing

/// Group commit under a cancelled caller and an ambiguous commit (issue 16, review items 6, 7).
@Suite("Group commit faults (review items 6, 7)")
struct HardeningGroupCommitTests {
    /// A fake table: each write appends its items; the first write can be held on a gate.
    final class Table: Sendable {
        let rows = Mutex<[String]>([])
        let writes = Mutex(0)
        let firstHeld = Gate()
        let holdFirst: Bool
        /// Combined writes (more than one item) commit and then report a lost connection.
        let loseCommitConfirmationOfGroups: Bool

        init(holdFirst: Bool, loseCommitConfirmationOfGroups: Bool = false) {
            self.holdFirst = holdFirst
            self.loseCommitConfirmationOfGroups = loseCommitConfirmationOfGroups
        }

        func write(_ items: [String]) async throws -> [Int] {
            let first = writes.withLock { writes -> Bool in
                writes += 1
                return writes == 1
            }
            if first && holdFirst { await firstHeld.wait() }
            // What postgres-nio does when it leases a pooled connection.
            try Task.checkCancellation()
            let ids = rows.withLock { rows -> [Int] in
                rows.append(contentsOf: items)
                return Array((rows.count - items.count)..<rows.count)
            }
            if loseCommitConfirmationOfGroups && items.count > 1 {
                throw SuretyError(.storeUnavailable, "the connection was closed before the statement's commit was confirmed")
            }
            return ids
        }
    }

    static func untilWaiting(_ group: GroupCommit<String, Int>, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while group.waitingCount < count {
            guard ContinuousClock.now < deadline else { throw SuretyError(.invalidArgument, "only \(group.waitingCount) of \(count) calls queued") }
            await Task.yield()
        }
    }

    static func untilFirstWrite(_ table: Table) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while table.writes.withLock({ $0 }) == 0 {
            guard ContinuousClock.now < deadline else { throw SuretyError(.invalidArgument, "the first write never started") }
            await Task.yield()
        }
    }

    @Test("a cancelled caller that leads a group does not fail its neighbours' writes, nor its own", .timeLimit(.minutes(1)))
    func cancelledLeader() async throws {
        let group = GroupCommit<String, Int>()
        let table = Table(holdFirst: true)
        let first = Task { try await group.write(["a"]) { try await table.write($0) } }
        try await Self.untilFirstWrite(table)
        // X queues first, so it leads the next group; then its task is cancelled.
        let x = Task { try await group.write(["x"]) { try await table.write($0) } }
        try await Self.untilWaiting(group, 1)
        let y = Task { try await group.write(["y"]) { try await table.write($0) } }
        try await Self.untilWaiting(group, 2)
        x.cancel()
        table.firstHeld.open()
        _ = try await first.value
        let yResult = await y.result
        #expect((try? yResult.get()) != nil, "Y's write failed because its group's leader was cancelled: \(yResult)")
        let xResult = await x.result
        #expect((try? xResult.get()) != nil, "X's own write (an effect that happened) is recorded too: \(xResult)")
        #expect(table.rows.withLock { $0 }.sorted() == ["a", "x", "y"])
    }

    @Test("a group write whose commit may have happened is not written again; every caller gets the error", .timeLimit(.minutes(1)))
    func ambiguousCommitNotRewritten() async throws {
        let group = GroupCommit<String, Int>()
        let table = Table(holdFirst: true, loseCommitConfirmationOfGroups: true)
        let first = Task { try await group.write(["a"]) { try await table.write($0) } }
        try await Self.untilFirstWrite(table)
        let p = Task { try await group.write(["p"]) { try await table.write($0) } }
        try await Self.untilWaiting(group, 1)
        let q = Task { try await group.write(["q"]) { try await table.write($0) } }
        try await Self.untilWaiting(group, 2)
        table.firstHeld.open()
        _ = try await first.value
        let results = [await p.result, await q.result]
        let rows = table.rows.withLock { $0 }
        #expect(rows.filter { $0 == "p" }.count == 1 && rows.filter { $0 == "q" }.count == 1, "written twice: \(rows)")
        for result in results {
            #expect(throws: SuretyError.self) { try result.get() }
        }
    }

    @Test("a group write the store refused without writing is retried call by call (one bad call fails alone)")
    func definiteRefusalIsolated() async throws {
        let group = GroupCommit<String, Int>()
        let table = Table(holdFirst: true)
        let write: GroupCommit<String, Int>.Write = { items in
            if items.contains("bad") {
                var error = SuretyError(.storeUnavailable, "server refused the statement")
                error.nothingWritten = true
                throw error
            }
            return try await table.write(items)
        }
        let first = Task { try await group.write(["a"], write: write) }
        try await Self.untilFirstWrite(table)
        let bad = Task { try await group.write(["bad"], write: write) }
        try await Self.untilWaiting(group, 1)
        let good = Task { try await group.write(["good"], write: write) }
        try await Self.untilWaiting(group, 2)
        table.firstHeld.open()
        _ = try await first.value
        #expect((try? await good.value) != nil)
        await #expect(throws: SuretyError.self) { try await bad.value }
        #expect(table.rows.withLock { $0 } == ["a", "good"])
    }

    @Test("a write that is never answered (a statement postgres-nio lost) fails its callers after the answer timeout instead of hanging them", .timeLimit(.minutes(1)))
    func unansweredWriteTimesOut() async throws {
        let group = GroupCommit<String, Int>(answerTimeout: .milliseconds(200))
        let never = Gate()
        do {
            _ = try await group.write(["lost"]) { _ in
                await never.wait()   // never opened, and deaf to cancellation like the lost statement
                return [1]
            }
            Issue.record("the unanswered write returned")
        } catch let error as SuretyError {
            #expect(error.code == .storeUnavailable && !error.nothingWritten, "the outcome is unknown: \(error)")
        }
        // The group is usable again.
        #expect(try await group.write(["next"]) { items in items.map(\.count) } == [4])
    }
}
