import Foundation

/// A capability: operators can act on jobs by id (requeue, discard, cancel waiting jobs), each
/// action one transaction with an audit row per job changed. To cancel running jobs too, a store
/// adds ``CancelRequestStore``.
public protocol OperatorActionStore: JobStore {
    /// Moves dead or cancelled jobs back to `available` now with their attempt count reset,
    /// re-taking a ``UniqueScope/whileActive`` key, and writes an audit row per job.
    /// Jobs in other states, or whose key another active job now holds, are skipped.
    func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult

    /// Moves dead jobs to `cancelled` with the reason as a "won't retry" note, and writes an
    /// audit row per job. Jobs in other states are skipped.
    func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult

    /// Cancels jobs that are waiting (scheduled, available, retrying), and writes an audit row
    /// per job. Running and finished jobs are skipped.
    func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult
}

/// The result of an operator action on many jobs.
public struct BulkResult: Sendable, Hashable, Codable {
    /// Jobs the action changed.
    public var changed: [JobID]
    /// Jobs it left alone, with why.
    public var skipped: [Skipped]

    public struct Skipped: Sendable, Hashable, Codable {
        public var id: JobID
        public var reason: String
        public init(id: JobID, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    public init(changed: [JobID] = [], skipped: [Skipped] = []) {
        self.changed = changed
        self.skipped = skipped
    }
}
