/// The identity of one side effect: stable across every attempt of a job, distinct between jobs,
/// tenants, effect names and caller keys.
public struct EffectKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var tenant: TenantID
    public var jobID: JobID
    /// The effect's name within the job, for example `"charge"`.
    public var name: String
    /// The caller's key within that name, for example an order id; empty when the job performs
    /// the effect once.
    public var key: String

    public init(tenant: TenantID, jobID: JobID, name: String, key: String = "") {
        self.tenant = tenant
        self.jobID = jobID
        self.name = name
        self.key = key
    }

    /// The idempotency key handed to the effect: `surety:<tenant>:<job id>:<name>:<key>`.
    /// It is the same on every attempt (and after a requeue), so a provider that honours
    /// idempotency keys turns a repeat into a no-op.
    public var idempotencyKey: String { "surety:\(tenant.rawValue):\(jobID.rawValue):\(name):\(key)" }

    public var description: String { idempotencyKey }
}

/// What the ledger knows about one effect.
public struct EffectRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Recorded before the effect ran; never confirmed. If the attempt that started it is over,
        /// the effect is *in doubt*: it may or may not have happened.
        case started
        /// Recorded after the effect ran (or a reconcile found it happened), with its result.
        case confirmed
    }

    public var key: EffectKey
    public var state: State
    /// The effect's result as JSON text, once confirmed.
    public var result: String?
    /// The attempt that started it, and by which worker.
    public var attempt: Int
    public var worker: String
    public var startedAt: Date
    public var confirmedAt: Date?

    public init(key: EffectKey, state: State, result: String?, attempt: Int, worker: String, startedAt: Date, confirmedAt: Date?) {
        self.key = key
        self.state = state
        self.result = result
        self.attempt = attempt
        self.worker = worker
        self.startedAt = startedAt
        self.confirmedAt = confirmedAt
    }
}

import Foundation
