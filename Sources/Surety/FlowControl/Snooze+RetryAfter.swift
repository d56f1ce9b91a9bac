import Foundation

extension Snooze {
    /// A snooze for an HTTP `Retry-After` header (delay-seconds such as `"120"`, or an HTTP date
    /// such as `"Wed, 21 Oct 2026 07:28:00 GMT"`), so a job that a provider rate-limited tries
    /// again when the provider said, without using an attempt:
    ///
    /// ```swift
    /// if response.status == .tooManyRequests {
    ///     throw Snooze(retryAfter: response.headers.first(name: "Retry-After"), now: context.clock.now())
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - header: the header's value; `nil` or unparseable uses `fallback`.
    ///   - now: the current time (for an HTTP date). Use the job context's clock.
    ///   - fallback: Default: 60 seconds.
    ///   - maximum: the longest snooze accepted from a provider. Default: 1 hour.
    ///   - minimum: the shortest (a date in the past or `0` snoozes this long). Default: 1 second.
    public init(
        retryAfter header: String?, now: Date, fallback: Duration = .seconds(60),
        maximum: Duration = .seconds(3600), minimum: Duration = .seconds(1)
    ) {
        var delay = fallback
        if let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty {
            if let seconds = Int64(header), seconds >= 0 {
                delay = .seconds(seconds)
            } else if let date = Self.httpDate(header) {
                delay = .milliseconds(Int64((date.timeIntervalSince(now) * 1000).rounded(.up)))
            }
        }
        self.init(for: min(max(delay, minimum), maximum))
    }

    /// Parses the three date formats HTTP allows (RFC 9110 5.6.7).
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
