import Foundation

/// Something that happens to one job: the input of ``JobLifecycle/transition(for:)``.
///
/// Enqueue is not an event (it makes the job rather than moving it), and neither is a
/// heartbeat (it extends a lease, the state stays `running`). A rescue is a ``finish(_:)`` of a
/// `lost` attempt whose ``AttemptFinish/onlyIfLeaseExpiredBy`` is set: the same transition, fenced
/// on the lease having expired as well.
public enum JobEvent: Sendable, Hashable {
    /// A worker leases the waiting, due job until `leaseUntil` (``JobStore/claim(_:)``).
    case claim(worker: String, at: Date, leaseUntil: Date)
    /// An attempt ended (``JobStore/finish(_:)``), as the worker or the rescuer judged it.
    case finish(AttemptFinish)
    /// A pending cancel request (``CancelRequestStore``) meets the end of an attempt: a job
    /// that would run again is cancelled at `at`, in the same transaction as the finish.
    case cancelOnRequest(actor: String, reason: String, at: Date)
    /// An operator cancels a waiting job.
    case cancel(OperatorAction)
    /// An operator puts a dead or cancelled job back in line.
    case requeue(OperatorAction)
    /// An operator takes a dead job out of the inbox as "won't retry".
    case discard(OperatorAction)
}
