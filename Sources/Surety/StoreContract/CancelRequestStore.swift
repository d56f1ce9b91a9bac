import Foundation

/// A capability: the store can cancel a job whatever state it waits or runs in.
///
/// A waiting job (scheduled, available, retrying) is cancelled at once. A running job cannot be
/// stopped by the store: a *cancel request* is recorded beside it, its worker learns of it at its
/// next heartbeat (``heartbeatReportingCancellations(_:until:)``), cancels the job's task and
/// records the attempt with outcome `cancelled` and the job `cancelled`, fenced by the lease
/// token like every attempt write. A request also wins over any later "run again": when an
/// attempt of a job with a pending request ends in a retry, a snooze, a shutdown release or a
/// rescue of a lost lease, the job becomes `cancelled` in the same transaction as that finish.
/// A job that completes (or dies) before its worker hears of the request keeps that outcome;
/// the request is then dropped.
public protocol CancelRequestStore: JobStore {
    /// Cancels waiting jobs, and records a cancel request for running ones, each with an audit
    /// row (`cancel` or `cancel_request`), in one transaction. Finished jobs are skipped.
    func requestCancellation(_ ids: [JobID], action: OperatorAction) async throws -> CancellationResult

    /// ``JobStore/heartbeat(_:until:)`` that also reports which of the leases still held belong
    /// to jobs with a pending cancel request.
    func heartbeatReportingCancellations(_ leases: [Lease], until: Date) async throws -> HeartbeatReport

    /// ``heartbeatReportingCancellations(_:until:)`` with the caller's `now` (see
    /// ``JobStore/heartbeat(_:now:until:)``). Default: without it.
    func heartbeatReportingCancellations(_ leases: [Lease], now: Date, until: Date) async throws -> HeartbeatReport
}

extension CancelRequestStore {
    public func heartbeatReportingCancellations(_ leases: [Lease], now: Date, until: Date) async throws -> HeartbeatReport {
        try await heartbeatReportingCancellations(leases, until: until)
    }
}

/// What ``CancelRequestStore/requestCancellation(_:action:)`` did.
public struct CancellationResult: Sendable, Hashable, Codable {
    /// Waiting jobs now `cancelled`.
    public var cancelled: [JobID]
    /// Running jobs asked to stop: their workers cancel them at their next heartbeat.
    public var requested: [JobID]
    /// Jobs left alone (finished already, or unknown), with why.
    public var skipped: [BulkResult.Skipped]

    public init(cancelled: [JobID] = [], requested: [JobID] = [], skipped: [BulkResult.Skipped] = []) {
        self.cancelled = cancelled
        self.requested = requested
        self.skipped = skipped
    }
}

/// A heartbeat's answer.
public struct HeartbeatReport: Sendable, Hashable {
    /// Leases no longer held (the job was rescued, finished or cancelled elsewhere).
    public var lost: [Lease]
    /// Leases still held whose job has a pending cancel request.
    public var cancelRequested: [CancelRequest]

    public init(lost: [Lease] = [], cancelRequested: [CancelRequest] = []) {
        self.lost = lost
        self.cancelRequested = cancelRequested
    }
}

/// A pending request to cancel a running job.
public struct CancelRequest: Sendable, Hashable, Codable {
    public var lease: Lease
    public var actor: String
    public var reason: String
    public var at: Date

    public init(lease: Lease, actor: String, reason: String, at: Date) {
        self.lease = lease
        self.actor = actor
        self.reason = reason
        self.at = at
    }

    /// The note a job cancelled by this request carries.
    public var note: String { CancelRequest.note(actor: actor, reason: reason) }

    /// `cancelled by ACTOR: REASON`.
    public static func note(actor: String, reason: String) -> String { "cancelled by \(actor): \(reason)" }
}
