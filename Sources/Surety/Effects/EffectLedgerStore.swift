import Foundation

/// A store capability: the effect ledger. Every effect is recorded `started` before it runs and
/// `confirmed` with its result after, under an ``EffectKey`` that is stable across attempts.
public protocol EffectLedgerStore: JobStore {
    /// Records that the attempt holding `lease` is about to perform the effect, unless the ledger
    /// already has a record for the key, which is returned unchanged. Conditional on the lease: a
    /// worker that lost its lease starts no new effect.
    func beginEffect(_ key: EffectKey, lease: Lease, attempt: Int, worker: String, now: Date) async throws -> EffectBegin

    /// Records the effect's result. Not conditional on the lease: it records a fact about the
    /// outside world, which stays true whoever holds the job now.
    func confirmEffect(_ key: EffectKey, result: String, now: Date) async throws

    /// Forgets a `started` record after a reconcile found the effect did not happen, so the next
    /// run performs it. Confirmed records are never forgotten.
    func forgetUnconfirmedEffect(_ key: EffectKey) async throws

    /// The job's effects, oldest first.
    func effects(of job: JobID) async throws -> [EffectRecord]
}

/// The answer to ``EffectLedgerStore/beginEffect(_:lease:attempt:worker:now:)``.
public enum EffectBegin: Sendable, Hashable {
    /// No record existed; one is now `started` for this attempt.
    case started
    /// A record already existed (confirmed, or started by an earlier attempt).
    case existing(EffectRecord)
    /// The lease is no longer held: nothing was recorded.
    case leaseLost
}

/// What to do with an effect that was started and never confirmed, when no `reconcile` can tell.
public enum InDoubtPolicy: String, Sendable, Hashable, Codable {
    /// Run the effect again with the same idempotency key: right for providers that honour keys
    /// (the repeat returns the first result instead of acting twice).
    case rerunWithSameKey = "rerun_with_same_key"
    /// Stop: the job goes to the dead-letter inbox with reason `in_doubt` for a person to check
    /// the outside world. The default, because Surety cannot know whether a provider honours keys.
    case stopInDoubt = "stop_in_doubt"
}

/// What a `reconcile` closure found out about an in-doubt effect.
public enum ReconcileAnswer<Result: Codable & Sendable>: Sendable {
    /// It happened; here is its result (recorded as confirmed and returned).
    case happened(Result)
    /// It did not happen; perform it now.
    case didNotHappen
    /// The outside world cannot tell; apply the effect's ``InDoubtPolicy``.
    case unknown
}

/// Thrown when an effect is in doubt and its policy is ``InDoubtPolicy/stopInDoubt``: permanent,
/// sends the job to the dead-letter inbox with reason `in_doubt`.
public struct EffectInDoubt: ClassifiedError, CustomStringConvertible {
    public var key: EffectKey
    public var startedInAttempt: Int
    public var errorClass: ErrorClass { .permanent }
    public var description: String {
        "effect '\(key.name)' (key '\(key.key)') was started in attempt \(startedInAttempt) and never confirmed; it may or may not have happened. Check the outside world with idempotency key \(key.idempotencyKey), then resolve it"
    }
}

/// Thrown inside a job when its lease was lost before an effect could start: the effect is not
/// performed, and the attempt's outcome will be refused anyway.
public struct LeaseLostBeforeEffect: Error, CustomStringConvertible {
    public var key: EffectKey
    public var description: String { "lease lost before effect '\(key.name)' could start; not performed" }
}
