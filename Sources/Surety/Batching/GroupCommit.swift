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
/// Writes run in a task of their own, which no caller's cancellation reaches: a cancelled job
/// must not fail its neighbours' writes (review item 6). A caller whose own task is cancelled
/// still waits for its write. The queueing is the shared batching device (``Batcher``).
///
/// Stores use it for enqueues (``EnqueueGroupCommit``) and, on PostgreSQL, for effect-ledger
/// records. Package access: a helper of Surety's own stores, not part of the public API.
///
/// ```swift
/// let group = EnqueueGroupCommit()
/// func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
///     try await group.enqueue(jobs) { batch in try await self.insertInOneTransaction(batch) }
/// }
/// ```
package final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes items in one transaction and returns one result per item, in order.
    package typealias Write = @Sendable ([Item]) async throws -> [Output]

    /// One call's items, weighed by their count; its answer is its outputs or its error.
    private let batcher: Batcher<[Item], Result<[Output], any Error>>
    private let answerTimeout: Duration?

    /// - Parameters:
    ///   - maximumItems: the most items one group write takes (more wait for the next one; a
    ///     single call larger than this is written alone). Default: 1,000.
    ///   - answerTimeout: how long a write may go unanswered before its callers stop waiting and
    ///     get `storeUnavailable` (its outcome is then unknown: it is not written again). For a
    ///     client whose calls can wait for ever (postgres-nio never answers a statement written to
    ///     a connection that closed under it). Default: `nil`, wait for the answer.
    package init(maximumItems: Int = 1000, answerTimeout: Duration? = nil) {
        // Never closed: a group commit lives as long as its store.
        self.batcher = Batcher(maximumWeight: max(1, maximumItems)) {
            .failure(SuretyError(.invalidState, "internal error: a closed group commit was written to"))
        }
        self.answerTimeout = answerTimeout
    }

    /// Calls waiting for a write to take them (for tests).
    var waitingCount: Int { batcher.waitingCount }

    /// Writes `items` through `write`, alone or in a group with concurrent calls; returns the
    /// outputs for this call's items, in order.
    ///
    /// The call that finds no write running starts the writer: a task of its own that writes
    /// groups through this call's `write` until none is queued.
    package func write(_ items: [Item], write: @escaping Write) async throws -> [Output] {
        try await batcher.submit(items, weight: items.count) {
            Task { await self.writeGroups(write) }
        }.get()
    }

    /// The writer: writes the queued calls group by group, then stops.
    private func writeGroups(_ write: @escaping Write) async {
        while let group = batcher.nextGroup() {
            let results = await writeGroup(group, write)
            batcher.groupWritten(results.map { .answer($0) })
        }
    }

    /// Writes one group of calls; returns each call's result, in order.
    private func writeGroup(_ group: [[Item]], _ write: @escaping Write) async -> [Result<[Output], any Error>] {
        guard group.count > 1 else { return [await attempt(write, group[0])] }
        let combined = await attempt(write, group.flatMap { $0 })
        if case .success(let all) = combined, all.count == group.reduce(0, { $0 + $1.count }) {
            var results: [Result<[Output], any Error>] = []
            var offset = 0
            for items in group {
                results.append(.success(Array(all[offset..<(offset + items.count)])))
                offset += items.count
            }
            return results
        }
        if case .failure(let error) = combined, !Self.wroteNothing(error) {
            // The commit may have happened: every caller learns that, none is written twice.
            return Array(repeating: .failure(error), count: group.count)
        }
        // Isolate the failure: each call on its own, in arrival order.
        var results: [Result<[Output], any Error>] = []
        for items in group { results.append(await attempt(write, items)) }
        return results
    }

    /// Runs `write`, at most `answerTimeout` when one is set (the writer's task is out of every
    /// caller's reach, so a caller's cancellation never interrupts it).
    private func attempt(_ write: @escaping Write, _ items: [Item]) async -> Result<[Output], any Error> {
        let operation = { @Sendable () async -> Result<[Output], any Error> in
            do {
                return .success(try await write(items))
            } catch {
                return .failure(error)
            }
        }
        guard let answerTimeout else { return await operation() }
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
package typealias EnqueueGroupCommit = GroupCommit<NewJob, EnqueuedJob>

extension GroupCommit where Item == NewJob, Output == EnqueuedJob {
    /// - Parameter maximumJobs: the most jobs one group write takes. Default: 1,000.
    package convenience init(maximumJobs: Int) {
        self.init(maximumItems: maximumJobs)
    }

    /// Enqueues `jobs` through `write`, alone or in a group with concurrent calls.
    package func enqueue(_ jobs: [NewJob], write: @escaping Write) async throws -> [EnqueuedJob] {
        try await self.write(jobs, write: write)
    }
}
