import Foundation

/// The source of time for leases, backoff, timeouts and polling. Inject a test clock
/// (SuretyTesting's `TestClock`) to drive time in tests instead of sleeping.
public protocol SuretyClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Suspends for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
    /// Suspends until `deadline`; throws `CancellationError` when the task is cancelled.
    /// Default: sleeps for the time left until the deadline, at most ``Swift/Duration/maximumInterval``
    /// (100 years): a deadline further away, such as `Date.distantFuture`, wakes after that.
    func sleep(until deadline: Date) async throws
}

extension SuretyClock {
    /// Sleeps for the time left until `deadline`, at most ``Swift/Duration/maximumInterval``.
    public func sleep(until deadline: Date) async throws {
        let remaining = deadline.timeIntervalSince(now())
        if remaining > 0 { try await sleep(for: .interval(remaining)) } else { try Task.checkCancellation() }
    }
}

/// The real clock: `Date()` and `Task.sleep`.
public struct SystemClock: SuretyClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

extension Duration {
    /// The duration in seconds as a `TimeInterval`.
    package var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }

    /// The longest duration `Duration.interval(_:)` returns and the furthest `Date.adding(_:)`
    /// moves a date: 100 years (3 155 760 000 s).
    ///
    /// Longer values saturate at it instead of overflowing (a `Duration` from seconds counts
    /// nanoseconds in an `Int64`, which ends near 292 years, and the runtime's sleep adds the
    /// machine's uptime to that). So a job type's `timeout: .seconds(.max)` means "no timeout" in
    /// practice, and `sleep(until: .distantFuture)` sleeps (cancellably) instead of trapping.
    public static let maximumInterval: Duration = .seconds(3_155_760_000)

    /// A duration from a `TimeInterval` in seconds, rounded to the nanosecond.
    ///
    /// Saturates: values above ``maximumInterval`` (including `+infinity`) give
    /// ``maximumInterval``, values below its negative (including `-infinity`) give its negative,
    /// and NaN gives `.zero`. It never traps.
    package static func interval(_ seconds: TimeInterval) -> Duration {
        guard !seconds.isNaN else { return .zero }
        let limit = maximumInterval.timeInterval
        let clamped = Swift.min(Swift.max(seconds, -limit), limit)
        return .nanoseconds(Int64((clamped * 1e9).rounded()))
    }
}

extension Date {
    /// This date moved forward by `duration`, at most ``Swift/Duration/maximumInterval`` (100 years)
    /// either way: a longer duration moves it by that much, so the result is always a finite date
    /// that stores and clocks can represent.
    package func adding(_ duration: Duration) -> Date {
        let limit = Duration.maximumInterval
        return addingTimeInterval(Swift.min(Swift.max(duration, .zero - limit), limit).timeInterval)
    }
}
