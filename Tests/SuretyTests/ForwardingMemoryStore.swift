import Foundation
import Surety

/// A store that hands every runtime (`JobStore`) call to a memory store: a test store declares
/// only the calls it watches or delays, and gets the rest from here.
protocol ForwardingRuntimeStore: JobStore {
    var base: MemoryStore { get }
}

extension ForwardingRuntimeStore {
    func migrate() async throws { try await base.migrate() }
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] { try await base.enqueue(jobs) }
    func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] { try await base.claim(request) }
    func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] { try await base.heartbeat(leases, until: until) }
    func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] { try await base.finish(finishes) }
    func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] { try await base.expiredLeases(now: now, limit: limit) }
}

/// The same for the `JobInspectionStore` and `OperatorActionStore` calls too.
protocol ForwardingMemoryStore: ForwardingRuntimeStore, JobInspectionStore, OperatorActionStore {}

extension ForwardingMemoryStore {
    func job(_ id: JobID) async throws -> JobRecord? { try await base.job(id) }
    func jobs(_ filter: JobFilter) async throws -> [JobRecord] { try await base.jobs(filter) }
    func attempts(of id: JobID) async throws -> [AttemptRecord] { try await base.attempts(of: id) }
    func audit(of id: JobID) async throws -> [AuditRecord] { try await base.audit(of: id) }
    func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.requeue(ids, action: action) }
    func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.discard(ids, action: action) }
    func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult { try await base.cancel(ids, action: action) }
    func counts() async throws -> [JobCount] { try await base.counts() }
}
