import Foundation

/// One effect a step of a workflow performed through the effect ledger, as a compensation reads
/// it with ``JobContext/stepEffect(_:key:ofStep:as:)``: the idempotency key the provider saw,
/// whether the effect is known to have happened, and its result.
public struct StepEffect<Result: Sendable>: Sendable {
    /// The ledger's record (key, state, attempt, worker, times, result as JSON text).
    public var record: EffectRecord
    /// The confirmed result, decoded; `nil` while the effect is in doubt.
    public var result: Result?

    public init(record: EffectRecord, result: Result?) {
        self.record = record
        self.result = result
    }

    /// The idempotency key the step handed to the provider (``EffectKey/idempotencyKey``): the
    /// key to look the effect up by, or to reference it in the undoing call.
    public var idempotencyKey: String { record.key.idempotencyKey }

    /// The effect happened: its result was recorded (by the step, a reconcile or an operator).
    public var isConfirmed: Bool { record.state == .confirmed }

    /// The effect was started and never confirmed: it may or may not have happened. Ask the
    /// provider by ``idempotencyKey`` before undoing it.
    public var isInDoubt: Bool { record.state == .started }
}

extension StepEffect: Equatable where Result: Equatable {}
extension StepEffect: Hashable where Result: Hashable {}
