/// How long to wait before each retry.
///
/// The exponential formula, for the attempt `n` that just failed (1 for the first attempt):
///
///     base(n)  = min(cap, initial × factor^(n−1))
///     delay(n) = min(cap, base(n) × (1 + jitter × (2u − 1)))     u uniform in [0, 1)
///
/// so a delay lies within ±`jitter` of `base(n)` and never exceeds `cap`. Jitter spreads the
/// retries of jobs that failed together (a provider outage) so they do not return together.
public struct Backoff: Sendable, Hashable {
    /// The delay after the first failed attempt.
    public var initial: Duration
    /// The multiplier per further attempt (≥ 1).
    public var factor: Double
    /// The longest delay.
    public var cap: Duration
    /// The relative spread, from 0 (none) to 1 (anywhere between 0 and twice the base).
    public var jitter: Double

    /// An exponential backoff. Values are clamped: `factor` to at least 1, `jitter` to 0...1.
    public static func exponential(initial: Duration, factor: Double = 2, cap: Duration, jitter: Double = 0.2) -> Backoff {
        Backoff(initial: initial, factor: max(1, factor), cap: cap, jitter: min(1, max(0, jitter)))
    }

    /// The same delay every time, with no jitter.
    public static func constant(_ delay: Duration) -> Backoff {
        Backoff(initial: delay, factor: 1, cap: delay, jitter: 0)
    }

    /// The default: 5 s, doubling per attempt, capped at 1 hour, ±20 % jitter. With the default
    /// 20 attempts a job keeps retrying for about 9½ hours, inside the default 24-hour budget.
    public static let standard = Backoff.exponential(initial: .seconds(5), factor: 2, cap: .seconds(3600), jitter: 0.2)

    /// The delay without jitter after failed attempt `attempt` (1-based).
    public func baseDelay(afterAttempt attempt: Int) -> Duration {
        let capSeconds = cap.timeInterval
        let exponent = Double(max(0, attempt - 1))
        let raw = initial.timeInterval * Foundation.pow(factor, exponent)
        guard raw.isFinite else { return cap }
        return .interval(min(capSeconds, raw))
    }

    /// The delay after failed attempt `attempt` (1-based), with `unitRandom` in [0, 1) choosing
    /// the point within the jitter band.
    public func delay(afterAttempt attempt: Int, unitRandom: Double) -> Duration {
        let base = baseDelay(afterAttempt: attempt).timeInterval
        let u = min(max(unitRandom, 0), 1)
        let jittered = base * (1 + jitter * (2 * u - 1))
        return .interval(max(0, min(cap.timeInterval, jittered)))
    }

    /// The delay after failed attempt `attempt`, with jitter from the system's random source.
    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, unitRandom: Double.random(in: 0..<1))
    }
}

import Foundation
