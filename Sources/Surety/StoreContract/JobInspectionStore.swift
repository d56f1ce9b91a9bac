import Foundation

/// A capability: operators (the `surety` command, the dashboard, tests) can read the store's jobs,
/// their attempts and audit rows, and counts. Reads only; none of them changes a job.
public protocol JobInspectionStore: JobStore {
    /// One job, or `nil`.
    func job(_ id: JobID) async throws -> JobRecord?

    /// Jobs matching the filter, newest first, at most `filter.limit`.
    func jobs(_ filter: JobFilter) async throws -> [JobRecord]

    /// The job's attempts in order: history rows, then the current or successful last attempt
    /// from the job row.
    func attempts(of id: JobID) async throws -> [AttemptRecord]

    /// Operator actions on the job, oldest first.
    func audit(of id: JobID) async throws -> [AuditRecord]

    /// Job counts grouped by queue, type and state.
    func counts() async throws -> [JobCount]
}
