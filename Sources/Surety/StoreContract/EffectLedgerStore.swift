import Foundation

/// A store capability: the effect ledger. Every effect is recorded `started` before it runs and
/// `confirmed` with its result after, under an ``EffectKey`` that is stable across attempts.
public protocol EffectLedgerStore: JobStore {
    /// Records that the attempt holding `lease` is about to perform the effect, unless the ledger
    /// already has a record for the key, which is returned unchanged. Conditional on the lease,
    /// checked first: a worker that lost its lease gets ``EffectBegin/leaseLost`` whether or not a
    /// record exists, so a stale attempt neither starts an effect nor reconciles one.
    func beginEffect(_ key: EffectKey, lease: Lease, attempt: Int, worker: String, now: Date) async throws -> EffectBegin

    /// Records the effect's result. Not conditional on the lease: it records a fact about the
    /// outside world, which stays true whoever holds the job now.
    func confirmEffect(_ key: EffectKey, result: String, now: Date) async throws

    /// Forgets the `started` record that attempt `startedAttempt` made, after a reconcile (or
    /// the perform itself, with ``EffectNotPerformed``) found the effect did not happen, so the
    /// next run performs it. Fenced like every ledger write: only the attempt holding `lease`
    /// forgets, and only the record it saw (a record another attempt started since stays).
    /// Confirmed records are never forgotten.
    /// - Throws: ``SuretyError/Code/leaseLost`` when `lease` is no longer held (nothing forgotten).
    func forgetUnconfirmedEffect(_ key: EffectKey, lease: Lease, startedAttempt: Int) async throws

    /// The job's effects, oldest first.
    func effects(of job: JobID) async throws -> [EffectRecord]

    /// Records what an operator found out about an in-doubt effect by checking the provider:
    /// ``EffectFinding/happened(result:)`` confirms the `started` record with that result (the
    /// next attempt returns it without performing), ``EffectFinding/didNotHappen`` deletes it
    /// (the next attempt performs the effect, with the same idempotency key). Writes an audit row
    /// `resolve_effect` for the job (``EffectFinding/auditReason(for:action:)``) in the same
    /// transaction. Only an effect in state `started` can be resolved, and only while its job is
    /// not running: a running attempt owns its ledger.
    /// - Returns: the record after the change; `nil` when it no longer exists (did not happen).
    /// - Throws: ``SuretyError/Code/notFound`` for an unknown job or effect,
    ///   ``SuretyError/Code/invalidState`` for a confirmed effect or a running job,
    ///   ``SuretyError/Code/invalidPayload`` for a result that is not JSON. Nothing is written then.
    @discardableResult
    func resolveEffect(_ key: EffectKey, finding: EffectFinding, action: OperatorAction) async throws -> EffectRecord?
}

/// What an operator found out about an in-doubt effect by checking the outside world (see
/// ``EffectLedgerStore/resolveEffect(_:finding:action:)`` and `surety dlq resolve-effect`).
public enum EffectFinding: Sendable, Hashable {
    /// It happened; `result` is the JSON text the job's code decodes as the effect's result
    /// (`"null"` for an effect whose result is `Void`-like or optional).
    case happened(result: String)
    /// It did not happen: the next attempt performs it.
    case didNotHappen

    /// The audit action every store writes for a resolution.
    public static let auditAction = "resolve_effect"

    /// Refuses a result that is not JSON text (any JSON value, `null` and scalars included).
    /// - Throws: ``SuretyError/Code/invalidPayload``.
    public func validate(for key: EffectKey) throws {
        guard case .happened(let result) = self else { return }
        let parsed = try? JSONSerialization.jsonObject(with: Data(result.utf8), options: [.fragmentsAllowed])
        guard parsed != nil else {
            throw SuretyError(.invalidPayload, "the result given for effect '\(key.name)' of job \(key.jobID) is not valid JSON; pass the JSON the job's code decodes (for example '\"msg-1\"' or '{\"id\":\"ch_1\"}')")
        }
    }

    /// `record` after this finding is applied at `at`: confirmed with the result, or `nil` (the
    /// started record is removed). Every store returns this; each writes it in its own way.
    public func resolving(_ record: EffectRecord, at: Date) -> EffectRecord? {
        guard case .happened(let result) = self else { return nil }
        var confirmed = record
        confirmed.state = .confirmed
        confirmed.result = result
        confirmed.confirmedAt = at
        return confirmed
    }

    /// The audit row's reason: the finding, the effect's name and key, then the operator's reason.
    public func auditReason(for key: EffectKey, action: OperatorAction) -> String {
        let what = key.key.isEmpty ? "effect '\(key.name)'" : "effect '\(key.name)' key '\(key.key)'"
        switch self {
        case .happened: return "\(what) happened (confirmed with the given result): \(action.reason)"
        case .didNotHappen: return "\(what) did not happen (started record removed; the next attempt performs it): \(action.reason)"
        }
    }
}

extension SuretyError {
    /// The refusal of a resolution: the effect is not in doubt, or its job is running.
    public static func effectNotResolvable(_ key: EffectKey, _ why: String) -> SuretyError {
        SuretyError(.invalidState, "effect '\(key.name)' of job \(key.jobID) cannot be resolved: \(why)")
    }

    /// The refusal of a resolution of an effect the ledger does not have.
    /// The rule every store applies before resolving `key` (one rule, not one per store): the
    /// job and the record exist (`notFound`), the job is not running and the record is `started`
    /// (`invalidState`). Returns the record to change.
    public static func checkResolvable(_ key: EffectKey, jobState: JobState?, record: EffectRecord?) throws -> EffectRecord {
        guard let jobState, let record else { throw effectNotFound(key) }
        guard jobState != .running else {
            throw effectNotResolvable(key, "job \(key.jobID) is running; its attempt owns the ledger (wait until it ends)")
        }
        guard record.state == .started else {
            throw effectNotResolvable(key, "it is \(record.state.rawValue), not in doubt")
        }
        return record
    }

    public static func effectNotFound(_ key: EffectKey) -> SuretyError {
        SuretyError(.notFound, "job \(key.jobID) has no effect '\(key.name)'\(key.key.isEmpty ? "" : " with that key") in the ledger")
    }
}

extension SuretyError {
    /// The refusal of a ledger write whose lease is no longer held.
    public static func effectLeaseLost(_ key: EffectKey) -> SuretyError {
        SuretyError(.leaseLost, "the lease of job \(key.jobID) is no longer held; the effect '\(key.name)' record was not changed")
    }
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

/// Thrown from an effect's `perform` to say the effect certainly did not happen: the provider
/// refused the request before acting on it (a 503 or 429 answer, a validation error), or the
/// request never left (the connection was refused). The ledger then forgets the attempt's
/// `started` record, so the next attempt performs the effect instead of stopping in doubt, and
/// the attempt fails with `underlying`, classified as usual (a transient 503 retries, a
/// ``PermanentFailure`` dead-letters as `permanent_error`).
///
/// Only for certain refusals. A timeout, a connection reset after the request was sent, or a 5xx
/// answer that may come after the provider acted are ambiguous: let them propagate as they are,
/// and the effect stays in doubt (``InDoubtPolicy``).
///
/// ```swift
/// try await context.effect("charge", key: order.id) { key in
///     let response = try await payments.charge(order, idempotencyKey: key)
///     if response.status == 503 { throw EffectNotPerformed(ProviderUnavailable()) }
///     return response.receipt
/// }
/// ```
///
/// Without wrapping, a `POSIXError` of a refused or unreachable connection (`ECONNREFUSED`,
/// `ENETUNREACH`, `EHOSTUNREACH`) counts as not performed too, as does any error conforming to
/// ``EffectNotPerformedError``.
public struct EffectNotPerformed: EffectNotPerformedError, CustomStringConvertible {
    /// The provider's error, which the attempt records and the retry policy classifies.
    public var underlying: any Error
    public init(_ underlying: any Error) { self.underlying = underlying }
    public var description: String { String(describing: underlying) }

    /// The error to fail the attempt with when `error` says the effect surely did not happen;
    /// `nil` when it may have happened.
    static func evidence(in error: any Error) -> (any Error)? {
        if let wrapped = error as? EffectNotPerformed { return wrapped.underlying }
        if error is any EffectNotPerformedError { return error }
        if let posix = error as? POSIXError, [.ECONNREFUSED, .ENETUNREACH, .EHOSTUNREACH].contains(posix.code) { return error }
        return nil
    }
}

/// An error type whose every value means "the effect did not happen" (a client library's
/// "request refused before sending", say): thrown from an effect's `perform`, it has the
/// meaning of ``EffectNotPerformed`` without wrapping.
public protocol EffectNotPerformedError: Error {}
