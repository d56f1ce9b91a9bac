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

    /// The idempotency key handed to the effect: `surety:<tenant>:<job id>:<name>:<key>`, each
    /// component with `%` written as `%25` and `:` as `%3A`, so no two effects share a key (tenant
    /// `a`, job 1, key `2:charge:z` and tenant `a:1:charge`, job 2, key `z` would otherwise
    /// both give `surety:a:1:charge:2:charge:z`). It is the same on every attempt (and after a
    /// requeue), so a provider that honours idempotency keys turns a repeat into a no-op.
    public var idempotencyKey: String {
        "surety:\(Self.escaped(tenant.rawValue)):\(jobID.rawValue):\(Self.escaped(name)):\(Self.escaped(key))"
    }

    /// One component of an idempotency key: `%` → `%25`, `:` → `%3A`, everything else as it is.
    ///
    /// A component without `%` or `:` is returned unchanged, byte for byte. Keep it that way:
    /// ledgers and providers already hold keys made before the escaping existed, and a job in
    /// flight across an upgrade must present the same key on its next attempt, or the provider
    /// would not recognise the repeat and the effect could happen twice.
    static func escaped(_ component: String) -> String {
        guard component.unicodeScalars.contains(where: { $0 == ":" || $0 == "%" }) else { return component }
        var escaped = String.UnicodeScalarView()
        for scalar in component.unicodeScalars {
            switch scalar {
            case "%": escaped.append(contentsOf: "%25".unicodeScalars)
            case ":": escaped.append(contentsOf: "%3A".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

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
