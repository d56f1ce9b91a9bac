import Foundation

/// The flow-control settings of one queue, kept in the store so every node enforces the same
/// limits (set them with ``FlowControlStore/setQueueLimits(_:)`` or `surety limits set`).
///
/// Every field is optional and defaults to "no limit": a queue without a `QueueLimits` row (or
/// with one that sets only ``maxBacklog``) is claimed on the store's fast path, unchanged.
/// docs/flow-control.md explains each control with an example.
///
/// ```swift
/// // One job at a time per account, in enqueue order; at most 10 per second overall.
/// try await store.setQueueLimits(QueueLimits(
///     queue: "ledger", concurrencyPerKey: 1, rate: RateLimit(10, per: .seconds(1))))
/// ```
public struct QueueLimits: Sendable, Hashable, Codable {
    /// The queue these limits apply to.
    public var queue: String
    /// At most this many jobs of the queue run at once, across all nodes. Default: `nil` (no limit).
    public var concurrency: Int?
    /// At most this many jobs with the same partition key run at once, across all nodes. `1` gives
    /// ordered execution: the jobs of one key run one at a time in enqueue order, and a job
    /// waiting to retry blocks the later jobs of its key until it completes, is cancelled or
    /// reaches the dead-letter inbox. Jobs without a partition key are not limited per key.
    /// Default: `nil` (no limit).
    public var concurrencyPerKey: Int?
    /// A token bucket for the whole queue: jobs start at most at this rate. Default: `nil`.
    public var rate: RateLimit?
    /// A token bucket per partition key (jobs without a key are not limited per key).
    /// Default: `nil`.
    public var ratePerKey: RateLimit?
    /// Claims take jobs round-robin across partition keys (oldest due job of each key in turn;
    /// jobs without a key form one group), so one key (tenant) that floods the queue cannot delay
    /// the others' jobs by more than one round. Default: `false` (most urgent first: priority,
    /// then run time, then id).
    public var fair: Bool
    /// The most jobs that may wait in the queue (scheduled, available or retrying); past it,
    /// enqueue follows ``overflow``. Default: `nil` (no limit).
    public var maxBacklog: Int?
    /// What enqueue does past ``maxBacklog``. Default: ``OverflowPolicy/reject``.
    public var overflow: OverflowPolicy

    /// - Throws: ``SuretyError/Code/invalidArgument`` for an empty queue name or a limit below 1.
    public init(
        queue: String, concurrency: Int? = nil, concurrencyPerKey: Int? = nil, rate: RateLimit? = nil,
        ratePerKey: RateLimit? = nil, fair: Bool = false, maxBacklog: Int? = nil, overflow: OverflowPolicy = .reject
    ) throws {
        self.queue = queue
        self.concurrency = concurrency
        self.concurrencyPerKey = concurrencyPerKey
        self.rate = rate
        self.ratePerKey = ratePerKey
        self.fair = fair
        self.maxBacklog = maxBacklog
        self.overflow = overflow
        try validate()
    }

    /// Checks the values (stores call it before saving limits).
    /// - Throws: ``SuretyError/Code/invalidArgument``.
    public func validate() throws {
        guard !queue.isEmpty, queue.count <= 128 else {
            throw SuretyError(.invalidArgument, "queue name must be 1 to 128 characters")
        }
        try JobQueue.refuseNUL(in: queue, "queue name")
        for (name, value) in [("concurrency", concurrency), ("concurrencyPerKey", concurrencyPerKey), ("maxBacklog", maxBacklog)] {
            if let value, value < 1 { throw SuretyError(.invalidArgument, "\(name) must be at least 1, got \(value) (omit it for no limit)") }
        }
        try rate?.validate()
        try ratePerKey?.validate()
    }

    /// Whether these limits change what a claim takes (anything but ``maxBacklog``). Queues
    /// for which this is `false` use the store's fast claim path.
    public var limitsClaims: Bool {
        concurrency != nil || concurrencyPerKey != nil || rate != nil || ratePerKey != nil || fair
    }

    /// Ordered execution: one job per key at a time, in enqueue order.
    public var isOrdered: Bool { concurrencyPerKey == 1 }
}

/// A rate limit as a token bucket: ``burst`` tokens at most, refilled at ``count`` tokens per
/// ``period``; each job start takes one token. Over a long run at most `count` jobs start per
/// `period`; in any window of length T at most `burst + count × T / period` start. With
/// `burst: 1` starts are spaced evenly (one every `period / count`).
public struct RateLimit: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Jobs per period. No default.
    public var count: Int
    /// The period. No default.
    public var period: Duration
    /// The bucket's size: how many may start at once after a quiet spell. Default: `count`.
    public var burst: Int

    /// - Parameters:
    ///   - count: jobs per period, at least 1.
    ///   - period: from 1 millisecond to 1 day.
    ///   - burst: Default: `count`.
    public init(_ count: Int, per period: Duration, burst: Int? = nil) {
        self.count = count
        self.period = period
        self.burst = burst ?? count
    }

    /// - Throws: ``SuretyError/Code/invalidArgument``.
    public func validate() throws {
        guard (1...1_000_000).contains(count) else { throw SuretyError(.invalidArgument, "a rate limit's count must be between 1 and 1000000, got \(count)") }
        guard (1...1_000_000).contains(burst) else { throw SuretyError(.invalidArgument, "a rate limit's burst must be between 1 and 1000000, got \(burst)") }
        guard period >= .milliseconds(1), period <= .seconds(86_400) else {
            throw SuretyError(.invalidArgument, "a rate limit's period must be between 1 ms and 1 day, got \(period)")
        }
    }

    /// The period in microseconds (the unit stores keep buckets in).
    public var periodMicros: Int64 {
        let (seconds, attoseconds) = period.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    public var description: String {
        let micros = periodMicros
        let unit: String
        switch micros {
        case 1_000_000: unit = "s"
        case 60_000_000: unit = "min"
        case 3_600_000_000: unit = "h"
        case 86_400_000_000: unit = "d"
        default: unit = "\(Double(micros) / 1_000_000)s"
        }
        return burst == count ? "\(count)/\(unit)" : "\(count)/\(unit) burst \(burst)"
    }
}

/// What enqueue does when a queue's backlog is at its ``QueueLimits/maxBacklog``.
public enum OverflowPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Refuse the whole batch with ``SuretyError/Code/queueFull`` (nothing of it is inserted).
    case reject = "reject"
    /// Insert what fits and drop the rest of the batch silently: a dropped job's
    /// ``EnqueuedJob/dropped-swift.property`` is `true`, and the `surety_jobs_shed_total` counter counts it.
    case dropNew = "drop_new"
}

extension QueueLimits {
    /// Limits as stores keep them in a row (`surety_queue_limits`, docs/schema.md).
    /// - Throws: ``SuretyError/Code/storeCorrupt`` when the row holds values Surety would not write.
    public static func fromStore(
        queue: String, concurrency: Int?, concurrencyPerKey: Int?,
        rateCount: Int?, ratePeriodMicros: Int64?, rateBurst: Int?,
        keyRateCount: Int?, keyRatePeriodMicros: Int64?, keyRateBurst: Int?,
        fair: Bool, maxBacklog: Int?, overflow: String
    ) throws -> QueueLimits {
        func rate(_ count: Int?, _ period: Int64?, _ burst: Int?) -> RateLimit? {
            guard let count, let period else { return nil }
            return RateLimit(count, per: .microseconds(period), burst: burst)
        }
        do {
            guard let policy = OverflowPolicy(rawValue: overflow) else {
                throw SuretyError(.invalidArgument, "unknown overflow policy '\(overflow)'")
            }
            return try QueueLimits(
                queue: queue, concurrency: concurrency, concurrencyPerKey: concurrencyPerKey,
                rate: rate(rateCount, ratePeriodMicros, rateBurst), ratePerKey: rate(keyRateCount, keyRatePeriodMicros, keyRateBurst),
                fair: fair, maxBacklog: maxBacklog, overflow: policy
            )
        } catch let error as SuretyError {
            throw SuretyError(.storeCorrupt, "surety_queue_limits row for queue '\(queue)' is invalid (\(error.message)); fix it with `surety limits set` or delete the row")
        }
    }
}

extension RateLimit {
    /// Parses `COUNT/PERIOD` as operators write it: `10/s`, `100/min`, `5/h`, `1000/d`, or a
    /// period with a number and unit (`3/500ms`, `20/30s`, `60/5min`). The period is from 1 ms to
    /// 1 day, as ``validate()`` requires.
    /// - Throws: ``SuretyError/Code/invalidArgument`` with the accepted forms, or when the period
    ///   is out of range (however large the number written).
    public init(parsing text: String, burst: Int? = nil) throws {
        let usage = "a rate is COUNT/PERIOD, such as 10/s, 100/min, 5/h, 1000/d or 3/500ms; got '\(text)'"
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0].trimmingCharacters(in: .whitespaces)) else {
            throw SuretyError(.invalidArgument, usage)
        }
        var period = parts[1].trimmingCharacters(in: .whitespaces).lowercased()
        var amount = ""
        while let first = period.first, first.isNumber || first == "." {
            amount.append(first)
            period.removeFirst()
        }
        let multiple = amount.isEmpty ? 1 : Double(amount)
        let unit: Double?
        switch period {
        case "ms", "millisecond", "milliseconds": unit = 0.001
        case "s", "sec", "second", "seconds": unit = 1
        case "m", "min", "minute", "minutes": unit = 60
        case "h", "hour", "hours": unit = 3600
        case "d", "day", "days": unit = 86_400
        default: unit = nil
        }
        guard let multiple, let unit, multiple > 0 else { throw SuretyError(.invalidArgument, usage) }
        // Checked before the conversion to whole milliseconds, which traps beyond Int64.
        let milliseconds = multiple * unit * 1000
        guard milliseconds.isFinite, milliseconds <= 86_400_000 else {
            throw SuretyError(.invalidArgument, "a rate limit's period must be between 1 ms and 1 day, got '\(text)'")
        }
        self.init(count, per: .milliseconds(Int64(milliseconds.rounded())), burst: burst)
        try validate()
    }
}
