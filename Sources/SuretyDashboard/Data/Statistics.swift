import Foundation

/// Small statistics helpers for the overview.
enum Statistics {
    /// The nearest-rank percentile `p` (0...100) of `values`, or `nil` when empty.
    static func percentile(_ p: Double, of sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// p50, p95 and p99 of `values`.
    static func summary(_ values: [Double]) -> LatencySummary {
        let sorted = values.sorted()
        return LatencySummary(count: sorted.count, p50: percentile(50, of: sorted), p95: percentile(95, of: sorted),
                              p99: percentile(99, of: sorted), max: sorted.last)
    }
}

/// Percentiles of a latency, in seconds.
struct LatencySummary: Sendable, Hashable {
    var count: Int
    var p50: Double?
    var p95: Double?
    var p99: Double?
    var max: Double?
}

/// Counts over equal time buckets ending at `end`.
struct TimeSeries: Sendable, Hashable {
    var start: Date
    var bucket: TimeInterval
    var completed: [Int]
    var failed: [Int]

    init(start: Date, bucket: TimeInterval, completed: [Int], failed: [Int]) {
        self.start = start
        self.bucket = bucket
        self.completed = completed
        self.failed = failed
    }

    init(end: Date, span: TimeInterval, buckets: Int) {
        self.bucket = span / Double(buckets)
        self.start = end.addingTimeInterval(-span)
        self.completed = Array(repeating: 0, count: buckets)
        self.failed = Array(repeating: 0, count: buckets)
    }

    private func index(_ date: Date) -> Int? {
        let offset = date.timeIntervalSince(start)
        guard offset >= 0 else { return nil }
        let index = Int(offset / bucket)
        return index < completed.count ? index : (index == completed.count && offset == bucket * Double(index) ? index - 1 : nil)
    }

    mutating func add(completedAt date: Date) { if let i = index(date) { completed[i] += 1 } }
    mutating func add(failedAt date: Date) { if let i = index(date) { failed[i] += 1 } }
}
