import Foundation
import Synchronization

extension MemoryStore: AlertObservationsStore, AlertStateStore {
    // MARK: Observations (computed from the store's own reads; the memory store is for tests)

    private static let failureOutcomes: Set<AttemptOutcome> = [.failed, .timedOut, .lost]

    private func allJobs(_ states: [JobState] = []) async throws -> [JobRecord] {
        try await jobs(JobFilter(states: states, limit: .max))
    }

    public func attemptActivity(since: Date, until: Date) async throws -> [AttemptActivity] {
        var groups: [[String]: AttemptActivity] = [:]
        for job in try await allJobs() {
            let key = [job.type, job.queue]
            if job.state == .completed, let finished = job.finishedAt, finished >= since, finished <= until {
                groups[key, default: AttemptActivity(type: job.type, queue: job.queue, succeeded: 0, failed: 0)].succeeded += 1
            }
            for attempt in try await attempts(of: job.id) {
                guard let outcome = attempt.outcome, Self.failureOutcomes.contains(outcome),
                      let ended = attempt.endedAt, ended >= since, ended <= until else { continue }
                var group = groups[key, default: AttemptActivity(type: job.type, queue: job.queue, succeeded: 0, failed: 0)]
                group.failed += 1
                group.firstFailureAt = min(group.firstFailureAt ?? ended, ended)
                if let last = group.lastFailure, (last.at, last.jobID) > (ended, job.id) {} else {
                    group.lastFailure = ObservedFailure(jobID: job.id, at: ended, error: attempt.error, payload: job.payload)
                }
                groups[key] = group
            }
        }
        return groups.values.sorted { ($0.type, $0.queue) < ($1.type, $1.queue) }
    }

    public func deadLetterSummary(since: Date) async throws -> [DeadLetterSummary] {
        let dead = try await allJobs([.dead])
        return Dictionary(grouping: dead) { [$0.type, $0.queue] }.map { _, jobs in
            let newest = jobs.max { ($0.finishedAt ?? .distantPast, $0.id) < ($1.finishedAt ?? .distantPast, $1.id) }!
            return DeadLetterSummary(
                type: newest.type, queue: newest.queue, count: jobs.count,
                arrivedSince: jobs.filter { ($0.finishedAt ?? .distantPast) >= since }.count,
                firstFailureAt: jobs.compactMap(\.firstAttemptAt).min(),
                newest: ObservedFailure(jobID: newest.id, at: newest.finishedAt ?? newest.enqueuedAt, error: newest.lastError, payload: newest.payload)
            )
        }.sorted { ($0.type, $0.queue) < ($1.type, $1.queue) }
    }

    public func waitingWork(now: Date) async throws -> [WaitingWork] {
        let due = try await allJobs(JobState.claimable).filter { $0.runAt <= now }
        return Dictionary(grouping: due, by: \.queue).map { queue, jobs in
            let oldest = jobs.min { ($0.runAt, $0.id) < ($1.runAt, $1.id) }!
            return WaitingWork(queue: queue, count: jobs.count, oldestRunAt: oldest.runAt, oldestType: oldest.type)
        }.sorted { $0.queue < $1.queue }
    }

    // MARK: Alert state

    public func alertStates() async throws -> [AlertStateRecord] {
        alertStateTable.withLock { $0.values.sorted { $0.key < $1.key } }
    }

    public func saveAlertState(_ record: AlertStateRecord, expectedVersion: Int?) async throws -> Bool {
        alertStateTable.withLock { table in
            guard table[record.key]?.version == expectedVersion else { return false }
            table[record.key] = record
            return true
        }
    }

    public func deleteAlertStates(_ keys: [String], updatedBefore before: Date) async throws -> Int {
        alertStateTable.withLock { table in
            var removed = 0
            for key in keys where (table[key]?.updatedAt ?? .distantFuture) < before {
                table[key] = nil
                removed += 1
            }
            return removed
        }
    }
}
