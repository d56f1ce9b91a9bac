import Foundation

/// The source of time for leases, backoff, timeouts and polling. Inject a test clock
/// (``SuretyTesting/TestClock``) to drive time in tests instead of sleeping.
public protocol SuretyClock: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Suspends for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
    /// Suspends until `deadline`; throws `CancellationError` when the task is cancelled.
    /// Default: sleeps for the time left until the deadline.
    func sleep(until deadline: Date) async throws
}

extension SuretyClock {
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
    public var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }

    /// A duration from a `TimeInterval` in seconds.
    public static func interval(_ seconds: TimeInterval) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}

extension Date {
    /// This date moved forward by `duration`.
    public func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.timeInterval) }
}
