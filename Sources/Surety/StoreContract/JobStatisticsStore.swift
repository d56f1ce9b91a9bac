import Foundation

/// A capability: the store aggregates its own jobs for an overview (the dashboard's, say): per
/// queue, the count of jobs in each state, completions and dead letters in time buckets (hour
/// and day charts), failed attempts and latency percentiles over a recent window, and the
/// dead-letter size. Computed by the store (SQL `GROUP BY` and window functions), not from a
/// sample of rows, so the figures are exact however many jobs there are.
///
/// Definitions, the same in every store (SuretyTesting's `StoreConformance` checks them):
/// - *completed / dead in window*: jobs whose `finished_at` is in `[now - window, now]`.
/// - *failed attempts*: attempts that ended `failed`, `timed_out` or `lost` in the window.
/// - *run time*: `finished_at - attempted_at` of the jobs completed in the window.
/// - *pickup latency*: `attempted_at - run_at` of the jobs whose last attempt started in the
///   window at or after their run time and that are now running, completed or dead.
/// - percentiles interpolate linearly between the closest ranks (PostgreSQL's
///   `percentile_cont`).
/// - *series*: completed and dead jobs by `finished_at`, bucket `i` covering
///   `[start + i·bucket, start + (i+1)·bucket)` with `start = now - buckets·bucket`.
public protocol JobStatisticsStore: JobStore {
    /// The statistics of the jobs `request` selects.
    func jobStatistics(_ request: JobStatisticsRequest) async throws -> JobStatistics
}

/// What ``JobStatisticsStore/jobStatistics(_:)`` computes.
public struct JobStatisticsRequest: Sendable, Hashable {
    /// The end of the window and of every series.
    public var now: Date
    /// Only this tenant's jobs. Default: `nil` (every tenant).
    public var tenant: TenantID?
    /// The window of the rates and percentiles, in seconds. Default: 3600.
    public var windowSeconds: Int
    /// The series to count. Default: ``SeriesShape/lastHour`` and ``SeriesShape/lastDay``.
    public var series: [SeriesShape]

    public init(now: Date, tenant: TenantID? = nil, windowSeconds: Int = 3600, series: [SeriesShape] = [.lastHour, .lastDay]) {
        self.now = now
        self.tenant = tenant
        self.windowSeconds = windowSeconds
        self.series = series
    }

    /// The start of the window.
    public var windowStart: Date { now.addingTimeInterval(-Double(windowSeconds)) }

    /// Equal time buckets ending at the request's `now`.
    public struct SeriesShape: Sendable, Hashable {
        public var bucketSeconds: Int
        public var buckets: Int

        public init(bucketSeconds: Int, buckets: Int) {
            self.bucketSeconds = max(1, bucketSeconds)
            self.buckets = max(1, buckets)
        }

        /// Twelve buckets of five minutes.
        public static let lastHour = SeriesShape(bucketSeconds: 300, buckets: 12)
        /// Twenty-four buckets of one hour.
        public static let lastDay = SeriesShape(bucketSeconds: 3600, buckets: 24)

        /// The series' first instant for a request ending at `now`.
        public func start(now: Date) -> Date { now.addingTimeInterval(-Double(bucketSeconds * buckets)) }
    }
}

/// The result of ``JobStatisticsStore/jobStatistics(_:)``.
public struct JobStatistics: Sendable, Hashable {
    /// One entry per queue that holds any selected job, by name.
    public var queues: [QueueStatistics]
    /// Every queue together (its `queue` is empty); its percentiles are over all queues' jobs.
    public var all: QueueStatistics

    public init(queues: [QueueStatistics], all: QueueStatistics) {
        self.queues = queues
        self.all = all
    }
}

/// One queue's figures (see ``JobStatisticsStore`` for the definitions).
public struct QueueStatistics: Sendable, Hashable {
    public var queue: String
    /// Jobs in each state now (states with none are absent).
    public var counts: [JobState: Int]
    public var completedInWindow: Int
    public var deadInWindow: Int
    public var failedAttemptsInWindow: Int
    /// Seconds from run time to start.
    public var pickup: LatencyPercentiles
    /// Seconds from start to completion.
    public var run: LatencyPercentiles
    /// One per requested series shape, in order.
    public var series: [BucketSeries]

    public init(queue: String, counts: [JobState: Int] = [:], completedInWindow: Int = 0, deadInWindow: Int = 0, failedAttemptsInWindow: Int = 0,
                pickup: LatencyPercentiles = .empty, run: LatencyPercentiles = .empty, series: [BucketSeries] = []) {
        self.queue = queue
        self.counts = counts
        self.completedInWindow = completedInWindow
        self.deadInWindow = deadInWindow
        self.failedAttemptsInWindow = failedAttemptsInWindow
        self.pickup = pickup
        self.run = run
        self.series = series
    }

    /// Jobs in the dead-letter inbox now.
    public var deadLetterSize: Int { counts[.dead] ?? 0 }
}

/// Completed and dead jobs per time bucket.
public struct BucketSeries: Sendable, Hashable {
    public var start: Date
    public var bucketSeconds: Int
    public var completed: [Int]
    public var dead: [Int]

    public init(start: Date, bucketSeconds: Int, completed: [Int], dead: [Int]) {
        self.start = start
        self.bucketSeconds = bucketSeconds
        self.completed = completed
        self.dead = dead
    }

    /// An empty series of `shape` for a request ending at `now`.
    public init(_ shape: JobStatisticsRequest.SeriesShape, now: Date) {
        self.init(start: shape.start(now: now), bucketSeconds: shape.bucketSeconds,
                  completed: Array(repeating: 0, count: shape.buckets), dead: Array(repeating: 0, count: shape.buckets))
    }
}

/// Percentiles of a latency in seconds (`nil` when there is no value).
public struct LatencyPercentiles: Sendable, Hashable {
    public var count: Int
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var max: Double?

    public init(count: Int, p50: Double?, p95: Double?, p99: Double?, max: Double?) {
        self.count = count
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.max = max
    }

    public static let empty = LatencyPercentiles(count: 0, p50: nil, p95: nil, p99: nil, max: nil)

    /// The percentiles stores report, in whole percent.
    public static let reported = [50, 95, 99]

    /// The 1-based ranks a store must read to interpolate the reported percentiles of `count`
    /// sorted values (and the maximum), for stores that select ranks instead of computing
    /// percentiles themselves.
    public static func ranks(count: Int) -> Set<Int> {
        guard count > 0 else { return [] }
        var ranks: Set<Int> = [count]
        for percent in reported {
            let low = percent * (count - 1) / 100
            ranks.insert(low + 1)
            if low + 2 <= count { ranks.insert(low + 2) }
        }
        return ranks
    }

    /// The percentiles of `count` sorted values given the values at ``ranks(count:)``
    /// (`value(rank)`, 1-based), interpolated as `percentile_cont` does.
    public static func interpolated(count: Int, _ value: (Int) -> Double?) -> LatencyPercentiles {
        guard count > 0 else { return .empty }
        func percentile(_ percent: Int) -> Double? {
            let scaled = percent * (count - 1)
            let low = scaled / 100
            guard let lower = value(low + 1) else { return nil }
            let fraction = Double(scaled % 100) / 100
            guard fraction > 0, let upper = value(low + 2) else { return lower }
            return lower + (upper - lower) * fraction
        }
        return LatencyPercentiles(count: count, p50: percentile(50), p95: percentile(95), p99: percentile(99), max: value(count))
    }

    /// The percentiles of `values` (any order).
    public static func of(_ values: [Double]) -> LatencyPercentiles {
        let sorted = values.sorted()
        return interpolated(count: sorted.count) { rank in rank >= 1 && rank <= sorted.count ? sorted[rank - 1] : nil }
    }
}
