import Foundation

/// A capability: the store keeps per-queue limits (``QueueLimits``) and enforces them itself,
/// so every node sees the same limits and no worker has to guess:
///
/// - claims never start more than ``QueueLimits/concurrency`` jobs of a queue, nor more than
///   ``QueueLimits/concurrencyPerKey`` jobs of one partition key, across all nodes; with a limit
///   of one per key, the key's jobs start in enqueue order;
/// - claims take tokens from the queue's and the key's rate buckets in the claim's transaction;
///   a job over the limit is not claimed (it waits, using no attempt);
/// - a ``QueueLimits/fair`` queue is claimed round-robin across partition keys;
/// - enqueue past ``QueueLimits/maxBacklog`` throws ``SuretyError/Code/queueFull`` or drops jobs,
///   as the queue's ``OverflowPolicy`` says.
///
/// Limits are read by claims and enqueues through a short cache (see each store's
/// configuration): a change made on one node applies on the others within that interval, and at
/// once on the node that made it. `SuretyTesting.StoreConformance` checks an implementation.
public protocol FlowControlStore: JobStore {
    /// Every queue's limits, by queue name.
    func queueLimits() async throws -> [QueueLimits]

    /// Creates or replaces the limits of `limits.queue`.
    /// - Throws: ``SuretyError/Code/invalidArgument`` for invalid limits.
    func setQueueLimits(_ limits: QueueLimits) async throws

    /// Removes a queue's limits (and its rate buckets). Returns whether there were any.
    @discardableResult
    func removeQueueLimits(queue: String) async throws -> Bool
}
