import Foundation

/// A capability: the store can prune finished jobs and old audit rows in bounded batches, so the
/// hot table stays small. ``RetentionService`` drives it; `surety prune` runs one pass.
///
/// Each call is one short transaction that deletes at most `limit` rows, so a pass made of many
/// batches never holds the store's write lock (SQLite) or many row locks (PostgreSQL) for long:
/// claims and completions run between batches. Every delete re-checks its condition inside the
/// transaction, so a job requeued meanwhile is never deleted.
public protocol RetentionStore: JobStore {
    /// Deletes up to `limit` jobs in the terminal `state` (completed, cancelled or dead) that
    /// finished before `cutoff`, oldest first, together with their attempt history and their
    /// effect-ledger rows. Audit rows stay (see ``pruneAudit(before:limit:)``).
    /// Returns how many jobs were deleted.
    func pruneJobs(in state: JobState, finishedBefore cutoff: Date, limit: Int) async throws -> Int

    /// Deletes up to `limit` audit rows recorded before `cutoff` whose job no longer exists.
    /// Returns how many rows were deleted.
    func pruneAudit(before cutoff: Date, limit: Int) async throws -> Int

    /// How many jobs ``pruneJobs(in:finishedBefore:limit:)`` would delete with no limit.
    func countPrunableJobs(in state: JobState, finishedBefore cutoff: Date) async throws -> Int

    /// How many audit rows ``pruneAudit(before:limit:)`` would delete with no limit.
    func countPrunableAudit(before cutoff: Date) async throws -> Int
}
