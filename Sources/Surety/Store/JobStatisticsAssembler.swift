import Foundation

/// Assembles ``JobStatistics`` from the grouped rows a store reads (shared by the stores so that
/// they differ only in their queries).
package struct JobStatisticsAssembler: Sendable {
    package let request: JobStatisticsRequest
    private var queues: [String: QueueStatistics] = [:]
    private var all: QueueStatistics

    package init(request: JobStatisticsRequest) {
        self.request = request
        self.all = QueueStatistics(queue: "", series: request.series.map { BucketSeries($0, now: request.now) })
    }

    private mutating func update(_ queue: String, _ change: (inout QueueStatistics) -> Void) {
        var entry = queues[queue] ?? QueueStatistics(queue: queue, series: request.series.map { BucketSeries($0, now: request.now) })
        change(&entry)
        queues[queue] = entry
    }

    /// `count` jobs of `queue` are in `state` now.
    package mutating func addCount(queue: String, state: JobState, count: Int) {
        guard count > 0 else { return }
        update(queue) { $0.counts[state, default: 0] += count }
        all.counts[state, default: 0] += count
    }

    /// `count` jobs of `queue` finished as `state` (completed or dead) in bucket `bucket` of
    /// series `series`; out-of-range buckets are ignored.
    package mutating func addFinished(queue: String, state: JobState, series: Int, bucket: Int, count: Int) {
        guard request.series.indices.contains(series), (0..<request.series[series].buckets).contains(bucket) else { return }
        func add(_ entry: inout QueueStatistics) {
            if state == .completed { entry.series[series].completed[bucket] += count }
            if state == .dead { entry.series[series].dead[bucket] += count }
        }
        update(queue) { add(&$0) }
        add(&all)
    }

    /// `queue`'s counts over the window.
    package mutating func addWindow(queue: String, completed: Int, dead: Int, failedAttempts: Int) {
        update(queue) {
            $0.completedInWindow += completed
            $0.deadInWindow += dead
            $0.failedAttemptsInWindow += failedAttempts
        }
        all.completedInWindow += completed
        all.deadInWindow += dead
        all.failedAttemptsInWindow += failedAttempts
    }

    /// The latencies of `queue`, or of every queue when `queue` is `nil`.
    package mutating func setLatencies(queue: String?, pickup: LatencyPercentiles?, run: LatencyPercentiles?) {
        guard let queue else {
            if let pickup { all.pickup = pickup }
            if let run { all.run = run }
            return
        }
        update(queue) { entry in
            if let pickup { entry.pickup = pickup }
            if let run { entry.run = run }
        }
    }

    package func result() -> JobStatistics {
        JobStatistics(queues: queues.values.sorted { $0.queue < $1.queue }, all: all)
    }
}
