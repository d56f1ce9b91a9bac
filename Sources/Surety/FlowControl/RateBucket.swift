import Foundation

/// A token bucket's stored state, in integers so every store computes the same result:
/// `tokens` is in units of 1/`periodMicros` of a token (one token = `periodMicros` units), and
/// the bucket gains `count` units per elapsed microsecond, up to `burst × periodMicros`.
/// A bucket that was never used is full.
package struct RateBucket: Sendable, Hashable, Codable {
    /// The level, in token units (see the type's documentation).
    package var tokens: Int64
    /// When `tokens` was last brought up to date, in microseconds since 1970.
    package var refilledAt: Int64

    package init(tokens: Int64, refilledAt: Int64) {
        self.tokens = tokens
        self.refilledAt = refilledAt
    }

    /// A full bucket for `limit` at `now`.
    package static func full(_ limit: RateLimit, now: Int64) -> RateBucket {
        RateBucket(tokens: capacity(limit), refilledAt: now)
    }

    static func capacity(_ limit: RateLimit) -> Int64 {
        let (value, overflow) = Int64(limit.burst).multipliedReportingOverflow(by: limit.periodMicros)
        return overflow ? .max : value
    }

    /// Adds what accrued since ``refilledAt`` (nothing when the clock went back).
    package mutating func refill(_ limit: RateLimit, now: Int64) {
        let capacity = Self.capacity(limit)
        guard now > refilledAt else { return }
        let elapsed = min(now - refilledAt, capacity)
        let (gain, overflow) = elapsed.multipliedReportingOverflow(by: Int64(limit.count))
        let (sum, overflow2) = tokens.addingReportingOverflow(overflow ? .max : gain)
        tokens = min(capacity, overflow || overflow2 ? .max : sum)
        refilledAt = now
    }

    /// Takes one token if there is one.
    package mutating func take(_ limit: RateLimit) -> Bool {
        guard tokens >= limit.periodMicros else { return false }
        tokens -= limit.periodMicros
        return true
    }
}
