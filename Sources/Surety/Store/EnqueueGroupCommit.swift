import Synchronization

/// Group commit for enqueues: calls that arrive while another enqueue is being written wait, and
/// the next write takes all of them in one transaction. A lone caller writes at once (no added
/// latency); many concurrent producers share commits instead of queueing for one each.
///
/// Each call still gets exactly its own results, in its own order. The group is written with one
/// `write` of the callers' jobs one after another, so it behaves as if the calls had run one by
/// one in arrival order (a unique key taken by an earlier caller in the group is refused to a
/// later one, as it would be). If that combined write throws, every call of the group is written
/// again on its own, so one caller's refused or malformed jobs never fail another caller.
///
/// Stores use it inside their `enqueue(_:)`; a store of your own can too:
///
/// ```swift
/// let group = EnqueueGroupCommit()
/// func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
///     try await group.enqueue(jobs) { batch in try await self.insertInOneTransaction(batch) }
/// }
/// ```
public final class EnqueueGroupCommit: Sendable {
    /// Writes jobs in one transaction and returns one result per job, in order.
    public typealias Write = @Sendable ([NewJob]) async throws -> [EnqueuedJob]

    private enum Turn: Sendable {
        /// Write this group (the first request is the caller's own), then hand off.
        case lead([Request])
        case done(Result<[EnqueuedJob], any Error>)
    }

    private struct Request: Sendable {
        var jobs: [NewJob]
        var continuation: CheckedContinuation<Turn, Never>?
    }

    private struct State {
        var writing = false
        var waiting: [Request] = []
    }

    private let state = Mutex(State())
    private let maximumJobs: Int

    /// - Parameter maximumJobs: the most jobs one group write takes (more wait for the next one;
    ///   a single call larger than this is written alone). Default: 1,000.
    public init(maximumJobs: Int = 1000) {
        self.maximumJobs = max(1, maximumJobs)
    }

    /// Calls waiting for a write to take them (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Enqueues `jobs` through `write`, alone or in a group with concurrent calls.
    public func enqueue(_ jobs: [NewJob], write: Write) async throws -> [EnqueuedJob] {
        let leadsAtOnce = state.withLock { state -> Bool in
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if leadsAtOnce {
            let result = await Self.attempt(write, jobs)
            handOff()
            return try result.get()
        }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leadNow = state.withLock { state -> Bool in
                // The writer may have finished between the first look and now.
                guard state.writing else {
                    state.writing = true
                    return true
                }
                state.waiting.append(Request(jobs: jobs, continuation: continuation))
                return false
            }
            if leadNow { continuation.resume(returning: .lead([Request(jobs: jobs, continuation: nil)])) }
        }
        switch turn {
        case .done(let result):
            return try result.get()
        case .lead(let group):
            let own = await writeGroup(group, write)
            handOff()
            return try own.get()
        }
    }

    /// Writes `group` (its first request is the caller's, whose result is returned) and resumes
    /// the others with theirs.
    private func writeGroup(_ group: [Request], _ write: Write) async -> Result<[EnqueuedJob], any Error> {
        guard group.count > 1 else { return await Self.attempt(write, group[0].jobs) }
        let combined = await Self.attempt(write, group.flatMap(\.jobs))
        var results: [Result<[EnqueuedJob], any Error>] = []
        if case .success(let all) = combined, all.count == group.reduce(0, { $0 + $1.jobs.count }) {
            var offset = 0
            for request in group {
                results.append(.success(Array(all[offset..<(offset + request.jobs.count)])))
                offset += request.jobs.count
            }
        } else {
            // Isolate the failure: each call on its own, in arrival order.
            for request in group { results.append(await Self.attempt(write, request.jobs)) }
        }
        for (request, result) in zip(group, results) { request.continuation?.resume(returning: .done(result)) }
        return results[0]
    }

    /// Ends this writer's turn: the longest-waiting call leads the next group, or nobody writes.
    private func handOff() {
        let next = state.withLock { state -> [Request]? in
            guard !state.waiting.isEmpty else {
                state.writing = false
                return nil
            }
            var group: [Request] = []
            var jobs = 0
            while let first = state.waiting.first, group.isEmpty || jobs + first.jobs.count <= maximumJobs {
                group.append(state.waiting.removeFirst())
                jobs += first.jobs.count
            }
            return group
        }
        guard let next, let leader = next.first?.continuation else { return }
        var group = next
        group[0].continuation = nil
        leader.resume(returning: .lead(group))
    }

    private static func attempt(_ write: Write, _ jobs: [NewJob]) async -> Result<[EnqueuedJob], any Error> {
        do {
            return .success(try await write(jobs))
        } catch {
            return .failure(error)
        }
    }
}
