import Foundation

extension MemoryStore: JobStatisticsStore {
    private static let failedOutcomes: Set<AttemptOutcome> = [.failed, .timedOut, .lost]

    /// Computed from every job in memory (the memory store is for tests), with the definitions
    /// of ``JobStatisticsStore``.
    public func jobStatistics(_ request: JobStatisticsRequest) async throws -> JobStatistics {
        var jobs = try await self.jobs(JobFilter(limit: .max))
        if let tenant = request.tenant { jobs = jobs.filter { $0.tenant == tenant } }
        var assembler = JobStatisticsAssembler(request: request)
        let since = request.windowStart, now = request.now
        var pickups: [String: [Double]] = [:], runs: [String: [Double]] = [:]
        for job in jobs {
            assembler.addCount(queue: job.queue, state: job.state, count: 1)
            var completed = 0, dead = 0, failed = 0
            if let finished = job.finishedAt, job.state == .completed || job.state == .dead {
                for (index, shape) in request.series.enumerated() {
                    let start = shape.start(now: now)
                    let offset = finished.timeIntervalSince(start)
                    guard offset >= 0 else { continue }
                    let bucket = Int((offset * 1_000_000).rounded(.down)) / (shape.bucketSeconds * 1_000_000)
                    assembler.addFinished(queue: job.queue, state: job.state, series: index, bucket: bucket, count: 1)
                }
                if finished >= since, finished <= now {
                    if job.state == .completed {
                        completed = 1
                        if let started = job.attemptedAt { runs[job.queue, default: []].append(finished.timeIntervalSince(started)) }
                    } else {
                        dead = 1
                    }
                }
            }
            if let started = job.attemptedAt, started >= since, started <= now, started >= job.runAt,
               job.state == .running || ((job.state == .completed || job.state == .dead) && (job.finishedAt ?? .distantPast) >= since) {
                pickups[job.queue, default: []].append(started.timeIntervalSince(job.runAt))
            }
            for attempt in try await attempts(of: job.id) {
                if let outcome = attempt.outcome, Self.failedOutcomes.contains(outcome), let ended = attempt.endedAt, ended >= since, ended <= now {
                    failed += 1
                }
            }
            if completed + dead + failed > 0 { assembler.addWindow(queue: job.queue, completed: completed, dead: dead, failedAttempts: failed) }
        }
        for queue in Set(pickups.keys).union(runs.keys) {
            assembler.setLatencies(queue: queue, pickup: pickups[queue].map(LatencyPercentiles.of), run: runs[queue].map(LatencyPercentiles.of))
        }
        assembler.setLatencies(queue: nil, pickup: .of(pickups.values.flatMap { $0 }), run: .of(runs.values.flatMap { $0 }))
        return assembler.result()
    }
}
