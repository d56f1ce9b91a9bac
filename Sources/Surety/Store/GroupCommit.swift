import Synchronization

/// Group commit: calls that arrive while another call's items are being written wait, and the
/// next write takes all of them in one transaction. A lone caller writes at once (no added
/// latency); many concurrent callers share commits instead of queueing for one each.
///
/// Each call still gets exactly its own results, in its own order. The group is written with one
/// `write` of the callers' items one after another, so it behaves as if the calls had run one by
/// one in arrival order (for enqueues: a unique key taken by an earlier caller in the group is
/// refused to a later one, as it would be).
///
/// If that combined write throws an error that says nothing was written (a ``SuretyError``
/// refused before writing, such as `invalidArgument` or `uniqueConflict`, or one marked
/// ``SuretyError/nothingWritten``), every call of the group is written again on its own, so one
/// caller's refused or malformed items never fail another caller. Any other error (a connection
/// lost after the statement was sent, whose commit may have happened) goes to every caller of
/// the group as it is: writing again could insert a job twice (review item 7).
///
/// Writes run in a task of their own, which no caller's cancellation reaches: the caller that
/// leads a group writes the others' items too, and a cancelled job must not fail its neighbours'
/// writes (review item 6). A caller whose own task is cancelled still waits for its write.
///
/// Stores use it for enqueues (``EnqueueGroupCommit``) and, on PostgreSQL, for effect-ledger
/// records; a store of your own can too:
///
/// ```swift
/// let group = EnqueueGroupCommit()
/// func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
///     try await group.enqueue(jobs) { batch in try await self.insertInOneTransaction(batch) }
/// }
/// ```
public final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes items in one transaction and returns one result per item, in order.
    public typealias Write = @Sendable ([Item]) async throws -> [Output]

    private enum Turn: Sendable {
        /// Write this group (the first request is the caller's own), then hand off.
        case lead([Request])
        case done(Result<[Output], any Error>)
    }

    private struct Request: Sendable {
        var items: [Item]
        var continuation: CheckedContinuation<Turn, Never>?
    }

    private struct State {
        var writing = false
        var waiting: [Request] = []
    }

    private let state = Mutex(State())
    private let maximumItems: Int
    private let answerTimeout: Duration?

    /// - Parameters:
    ///   - maximumItems: the most items one group write takes (more wait for the next one; a
    ///     single call larger than this is written alone). Default: 1,000.
    ///   - answerTimeout: how long a write may go unanswered before its callers stop waiting and
    ///     get `storeUnavailable` (its outcome is then unknown: it is not written again). For a
    ///     client whose calls can wait for ever (postgres-nio never answers a statement written to
    ///     a connection that closed under it). Default: `nil`, wait for the answer.
    public init(maximumItems: Int = 1000, answerTimeout: Duration? = nil) {
        self.maximumItems = max(1, maximumItems)
        self.answerTimeout = answerTimeout
    }

    /// Calls waiting for a write to take them (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Writes `items` through `write`, alone or in a group with concurrent calls; returns the
    /// outputs for this call's items, in order.
    public func write(_ items: [Item], write: @escaping Write) async throws -> [Output] {
        let leadsAtOnce = state.withLock { state -> Bool in
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if leadsAtOnce {
            let result = await attempt(write, items)
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
                state.waiting.append(Request(items: items, continuation: continuation))
                return false
            }
            if leadNow { continuation.resume(returning: .lead([Request(items: items, continuation: nil)])) }
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
    private func writeGroup(_ group: [Request], _ write: @escaping Write) async -> Result<[Output], any Error> {
        guard group.count > 1 else { return await attempt(write, group[0].items) }
        let combined = await attempt(write, group.flatMap(\.items))
        var results: [Result<[Output], any Error>] = []
        if case .success(let all) = combined, all.count == group.reduce(0, { $0 + $1.items.count }) {
            var offset = 0
            for request in group {
                results.append(.success(Array(all[offset..<(offset + request.items.count)])))
                offset += request.items.count
            }
        } else if case .failure(let error) = combined, !Self.wroteNothing(error) {
            // The commit may have happened: every caller learns that, none is written twice.
            results = Array(repeating: .failure(error), count: group.count)
        } else {
            // Isolate the failure: each call on its own, in arrival order.
            for request in group { results.append(await attempt(write, request.items)) }
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
            var items = 0
            while let first = state.waiting.first, group.isEmpty || items + first.items.count <= maximumItems {
                group.append(state.waiting.removeFirst())
                items += first.items.count
            }
            return group
        }
        guard let next, let leader = next.first?.continuation else { return }
        var group = next
        group[0].continuation = nil
        leader.resume(returning: .lead(group))
    }

    /// Runs `write` in a task of its own (not a child, so no caller's cancellation reaches it)
    /// and waits for it, at most `answerTimeout` when one is set.
    private func attempt(_ write: @escaping Write, _ items: [Item]) async -> Result<[Output], any Error> {
        let operation = { @Sendable () async -> Result<[Output], any Error> in
            do {
                return .success(try await write(items))
            } catch {
                return .failure(error)
            }
        }
        guard let answerTimeout else { return await Task(operation: operation).value }
        return await AnswerDeadline.first(of: operation, or: answerTimeout) {
            .failure(SuretyError(.storeUnavailable, "the store did not answer a write within \(answerTimeout); its outcome is unknown"))
        }
    }

    /// Whether a failed write surely wrote nothing, so its calls may be written again one by one.
    static func wroteNothing(_ error: any Error) -> Bool {
        guard let error = error as? SuretyError else { return false }
        return error.nothingWritten || error.code != .storeUnavailable
    }
}

/// Group commit for enqueues (see ``GroupCommit``).
public typealias EnqueueGroupCommit = GroupCommit<NewJob, EnqueuedJob>

extension GroupCommit where Item == NewJob, Output == EnqueuedJob {
    /// - Parameter maximumJobs: the most jobs one group write takes. Default: 1,000.
    public convenience init(maximumJobs: Int) {
        self.init(maximumItems: maximumJobs)
    }

    /// Enqueues `jobs` through `write`, alone or in a group with concurrent calls.
    public func enqueue(_ jobs: [NewJob], write: @escaping Write) async throws -> [EnqueuedJob] {
        try await self.write(jobs, write: write)
    }
}
