import Foundation
import Surety

/// EFFECT in docs/cli.md: `{"name", "key", "state", "attempt", "started_at", "confirmed_at"}`.
/// The key is scrubbed like a unique key (``ViewRedaction/key(_:of:)``); the result is never
/// shown: it is what the provider returned and may hold secrets.
public struct EffectView: Sendable, Hashable, Encodable {
    public var name: String
    /// `""` when the effect has none.
    public var key: String
    /// `started` or `confirmed`.
    public var state: String
    public var attempt: Int
    public var startedAt: Date
    public var confirmedAt: Date?

    /// An effect of `job`, its key scrubbed by `redaction`.
    public init(_ effect: EffectRecord, of job: JobRecord, redaction: ViewRedaction) {
        name = effect.key.name
        key = redaction.key(effect.key.key, of: job)
        state = effect.state.rawValue
        attempt = effect.attempt
        startedAt = effect.startedAt
        confirmedAt = effect.confirmedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, key, state, attempt
        case startedAt = "started_at", confirmedAt = "confirmed_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(key, forKey: .key)
        try c.encode(state, forKey: .state)
        try c.encode(attempt, forKey: .attempt)
        try c.encodeTime(startedAt, forKey: .startedAt)
        try c.encodeTime(confirmedAt, forKey: .confirmedAt)
    }
}
