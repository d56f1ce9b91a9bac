import Foundation
@testable import Surety
import SuretyTesting
import Synchronization
import Testing

@Suite("Enqueue group commit")
struct EnqueueGroupCommitTests {
    /// A fake store write: records each batch, numbers the jobs, refuses any batch holding a
    /// job of type "bad", and can hold its first write until the test opens a gate.
    final class FakeWrites: Sendable {
        let batches = Mutex<[[String]]>([])
        let next = Mutex<Int64>(1)
        let firstHeld = Gate()
        let holdFirst: Bool

        init(holdFirst: Bool) { self.holdFirst = holdFirst }

        func write(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
            let isFirst = batches.withLock { batches -> Bool in
                batches.append(jobs.map(\.payload))
                return batches.count == 1
            }
            if isFirst && holdFirst { await firstHeld.wait() }
            if jobs.contains(where: { $0.type == "bad" }) {
                throw SuretyError(.invalidArgument, "bad job in the batch")
            }
            return jobs.map { _ in
                next.withLock { id in
                    defer { id += 1 }
                    return EnqueuedJob(id: JobID(id), inserted: true)
                }
            }
        }
    }

    static func jobs(_ names: [String], type: String = "ok") -> [NewJob] {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        return names.map { NewJob(type: type, queue: "default", priority: 0, tenant: .system, payload: $0, runAt: now, enqueuedAt: now, maxAttempts: 3) }
    }

    /// Waits (yielding, bounded) until `count` calls wait for the held first write.
    static func untilWaiting(_ group: EnqueueGroupCommit, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while group.waitingCount < count {
            guard ContinuousClock.now < deadline else { throw SuretyError(.invalidArgument, "only \(group.waitingCount) of \(count) calls queued") }
            await Task.yield()
        }
    }

    @Test("a lone call is written at once and alone")
    func lone() async throws {
        let group = EnqueueGroupCommit()
        let writes = FakeWrites(holdFirst: false)
        let results = try await group.enqueue(Self.jobs(["a", "b"])) { try await writes.write($0) }
        #expect(results.map(\.id) == [JobID(1), JobID(2)])
        #expect(writes.batches.withLock { $0 } == [["a", "b"]])
    }

    @Test("calls that arrive during a write share the next one; each gets its own results in order")
    func grouped() async throws {
        let group = EnqueueGroupCommit()
        let writes = FakeWrites(holdFirst: true)
        try await withThrowingTaskGroup(of: (String, [JobID]).self) { tasks in
            tasks.addTask { ("first", try await group.enqueue(Self.jobs(["f"])) { try await writes.write($0) }.map(\.id)) }
            // The first call is writing (held) before the others arrive.
            try await Self.untilFirstWrite(writes)
            for name in ["p", "q", "r"] {
                tasks.addTask { (name, try await group.enqueue(Self.jobs([name + "1", name + "2"])) { try await writes.write($0) }.map(\.id)) }
            }
            try await Self.untilWaiting(group, 3)
            writes.firstHeld.open()
            var results: [String: [JobID]] = [:]
            for try await (name, ids) in tasks { results[name] = ids }
            #expect(results["first"] == [JobID(1)])
            let batches = writes.batches.withLock { $0 }
            #expect(batches.count == 2, "the three waiting calls share one write: \(batches)")
            #expect(batches.last?.count == 6)
            // Each call's ids are its own jobs', consecutive and in its order.
            for name in ["p", "q", "r"] {
                let ids = try #require(results[name]).map(\.rawValue)
                #expect(ids.count == 2 && ids[1] == ids[0] + 1)
                let position = try #require(batches.last?.firstIndex(of: name + "1"))
                #expect(ids[0] == Int64(2 + position))
            }
        }
    }

    @Test("a group write that fails is retried call by call: only the bad call fails")
    func isolatesFailures() async throws {
        let group = EnqueueGroupCommit()
        let writes = FakeWrites(holdFirst: true)
        try await withThrowingTaskGroup(of: (String, Bool).self) { tasks in
            tasks.addTask { ("first", (try? await group.enqueue(Self.jobs(["f"])) { try await writes.write($0) }) != nil) }
            try await Self.untilFirstWrite(writes)
            tasks.addTask { ("good", (try? await group.enqueue(Self.jobs(["g"])) { try await writes.write($0) }) != nil) }
            try await Self.untilWaiting(group, 1)
            tasks.addTask { ("bad", (try? await group.enqueue(Self.jobs(["b"], type: "bad")) { try await writes.write($0) }) != nil) }
            try await Self.untilWaiting(group, 2)
            writes.firstHeld.open()
            var succeeded: [String: Bool] = [:]
            for try await (name, ok) in tasks { succeeded[name] = ok }
            #expect(succeeded == ["first": true, "good": true, "bad": false])
            #expect(writes.batches.withLock { $0 } == [["f"], ["g", "b"], ["g"], ["b"]])
        }
    }

    static func untilFirstWrite(_ writes: FakeWrites) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while writes.batches.withLock({ $0.isEmpty }) {
            guard ContinuousClock.now < deadline else { throw SuretyError(.invalidArgument, "the first write never started") }
            await Task.yield()
        }
    }
}
