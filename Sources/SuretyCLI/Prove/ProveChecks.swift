import Foundation
import Surety

/// The checks after a scenario's drain, from the store and from the provider's own records.
enum ProveChecks {
    static func check(
        _ row: inout ProveRow, store: any CommandStore, workload: ProveWorkload, acknowledged: [String: Int64],
        provider: ProveProvider.Records
    ) async throws {
        let jobs = try await store.jobs(JobFilter(limit: 100_000))
        // Nothing lost: every line's unique key is one job, and every job is finished.
        var byKey: [String: [JobRecord]] = [:]
        for job in jobs { if let key = job.uniqueKey { byKey[key, default: []].append(job) } }
        for line in workload.lines {
            let found = byKey[line.uniqueKey] ?? []
            if found.count != 1 {
                row.lost += found.isEmpty ? 1 : 0
                row.problems.append("unique key \(line.uniqueKey): \(found.count) jobs in the store")
            }
        }
        for job in jobs where !job.state.isTerminal {
            row.lost += 1
            row.problems.append("job \(job.id) (\(job.type)) is \(job.state.rawValue) after the drain")
        }
        if let workflows = store as? any WorkflowStore {
            let all = try await workflows.workflows(WorkflowFilter(limit: 10_000))
            if all.count != workload.workflows.count, !workload.workflows.isEmpty, row.point != CrashPoint.enqueueGroup.rawValue {
                row.lost += abs(workload.workflows.count - all.count)
                row.problems.append("\(all.count) workflows in the store, \(workload.workflows.count) enqueued")
            }
            for workflow in all where workflow.state == .running {
                row.lost += 1
                row.problems.append("workflow \(workflow.id) is still running after the drain")
            }
        }

        // The provider's records: one performance per job's effect, no overlap, the right tenant.
        var performances: [String: Int] = [:]
        for performance in provider.performances {
            performances["\(performance.job)/\(performance.kind)", default: 0] += 1
            if performance.tenant != performance.expectedTenant {
                row.tenantMismatches += 1
                row.problems.append("job \(performance.job) called the provider as tenant '\(performance.tenant)', enqueued for '\(performance.expectedTenant)'")
            }
        }
        for (what, count) in performances where count > 1 {
            row.duplicateEffects += count - 1
            row.problems.append("\(what) was performed \(count) times")
        }
        row.concurrentRuns = provider.concurrentJobs.count
        if !provider.concurrentJobs.isEmpty { row.problems.append("jobs run twice at once: \(provider.concurrentJobs.sorted())") }
        row.inDoubtReconciled = provider.reconciledFound

        for job in jobs {
            let kind: String? = switch job.type {
            case ProveCharge.name, ProveOnceDead.name: "charge"
            case ProveNotify.name: "notify"
            default: nil
            }
            if let expected = workload.lines.first(where: { $0.uniqueKey == job.uniqueKey }), expected.tenant != job.tenant {
                row.tenantMismatches += 1
                row.problems.append("job \(job.id) is stored for tenant \(job.tenant), enqueued for \(expected.tenant)")
            }
            // "Done" is never a lie: a completed job's effect happened at the provider.
            if job.state == .completed, let kind, performances["\(job.id.rawValue)/\(kind)", default: 0] == 0 {
                row.doneWithoutEffect += 1
                row.problems.append("job \(job.id) (\(job.type)) completed, and the provider never performed its \(kind)")
            }
            // Every in-doubt effect is stopped for a human or was reconciled (then confirmed).
            for effect in try await store.effects(of: job.id) {
                if effect.key.tenant != job.tenant {
                    row.tenantMismatches += 1
                    row.problems.append("job \(job.id)'s effect \(effect.key.name) is recorded for tenant \(effect.key.tenant)")
                }
                guard effect.state != .confirmed else { continue }
                if job.state == .dead, job.deadReason == .inDoubt {
                    row.inDoubtStopped += 1
                } else {
                    row.unresolvedInDoubt += 1
                    row.problems.append("job \(job.id) is \(job.state.rawValue) with effect \(effect.key.name) started and never confirmed")
                }
            }
            if job.state == .dead, job.deadReason != .inDoubt {
                row.problems.append("job \(job.id) (\(job.type)) is dead: \(job.deadReason?.rawValue ?? "no reason")")
            }
            // Every attempt is in the history, each with its outcome.
            // A requeue starts the count again: the history is runs of 1, 2, ..., one more run
            // per requeue, the last ending at the job's counter.
            let attempts = try await store.attempts(of: job.id)
            let numbers = attempts.map(\.attempt)
            let restarts = numbers.enumerated().filter { $0.offset > 0 && $0.element == 1 }.count
            let consecutive = numbers.enumerated().allSatisfy { $0.offset == 0 ? $0.element == 1 : ($0.element == 1 || $0.element == numbers[$0.offset - 1] + 1) }
            let requeues = restarts > 0 ? try await store.audit(of: job.id).filter { $0.action == "requeue" }.count : 0
            if job.attempt > 0, !consecutive || numbers.last != job.attempt || restarts != requeues || attempts.contains(where: { $0.outcome == nil }) {
                row.unaccountedAttempts += 1
                row.problems.append("job \(job.id): attempt counter \(job.attempt), history \(attempts.map { "\($0.attempt):\($0.outcome?.rawValue ?? "none")" })")
            }
        }
        _ = acknowledged
    }
}
