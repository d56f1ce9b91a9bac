import Foundation
import GRDB
import Surety
import SuretySQLite

/// The demo's final report: what happened, and the checks that prove nothing was lost or doubled.
struct DemoReport {
    enum Status: String { case pass = "PASS", fail = "FAIL", skipped = "SKIP" }

    struct Check {
        var status: Status
        var text: String
    }

    var sections: [String] = []
    var checks: [Check] = []
    var url: StoreURL
    var sampleDeadJob: JobID?

    var passed: Bool { !checks.contains { $0.status == .fail } }

    static func build(
        store: SQLiteStore, url: StoreURL, enqueued: [JobID], uniqueFirst: EnqueuedJob, uniqueDuplicate: EnqueuedJob,
        crash: DemoCrash?, counters: DemoEventCounters.Counts
    ) async throws -> DemoReport {
        var report = DemoReport(url: url)
        let jobs = try await allJobs(store)
        let byID = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0) })
        let terminal = Set(JobState.terminal)

        // Outcomes by type.
        var rows: [[String]] = []
        let types = Set(jobs.map(\.type)).sorted()
        func row(_ name: String, _ group: [JobRecord]) -> [String] {
            let count = { (state: JobState) in group.filter { $0.state == state }.count }
            let attempts = group.map(\.attempt).reduce(0, +)
            let retries = group.map { max(0, $0.attempt - 1) }.reduce(0, +)
            return [name, "\(group.count)", "\(count(.completed))", "\(count(.dead))", "\(count(.cancelled))",
                    "\(group.filter { !terminal.contains($0.state) }.count)", "\(attempts)", "\(retries)"]
        }
        for type in types { rows.append(row(type, jobs.filter { $0.type == type })) }
        rows.append(row("total", jobs))
        var outcome = ["Outcomes by type", Formatting.table(
            ["TYPE", "JOBS", "COMPLETED", "DEAD", "CANCELLED", "UNFINISHED", "ATTEMPTS", "RETRIES"], rows, indent: "  "
        )]
        let retried = jobs.filter { $0.attempt > 1 }
        let retries = jobs.map { max(0, $0.attempt - 1) }.reduce(0, +)
        if let most = jobs.max(by: { ($0.attempt, $1.id) < ($1.attempt, $0.id) }), most.attempt > 1 {
            outcome.append("  \(Formatting.count(retries, "retry", "retries")) over \(Formatting.count(retried.count, "job")) (attempts after the first, lost ones included); most for one job: \(most.attempt) attempts (job \(most.id), \(most.type))")
        } else {
            outcome.append("  no retries")
        }
        let finished = counters.finished
        let finishedTotal = finished.values.reduce(0, +)
        let byOutcome = AttemptOutcome.allCases.compactMap { outcome in finished[outcome].map { "\(outcome.rawValue) \($0)" } }
        outcome.append("  attempts recorded by this process's worker: \(finishedTotal) (\(byOutcome.joined(separator: ", ")))")
        report.sections.append(outcome.joined(separator: "\n"))

        // The dead-letter inbox, grouped by type and reason.
        let dead = jobs.filter { $0.state == .dead }
        var inbox = ["Dead-letter inbox: \(Formatting.count(dead.count, "job"))"]
        if !dead.isEmpty {
            let groups = Dictionary(grouping: dead) { "\($0.type)\u{0}\($0.deadReason?.rawValue ?? "?")" }
            let sorted = groups.values.sorted { ($0.count, $1[0].type) > ($1.count, $0[0].type) }
            inbox.append(Formatting.table(["TYPE", "REASON", "JOBS", "SAMPLE (job: last error)"], sorted.map { group in
                let sample = group.min { $0.id < $1.id }!
                let error = sample.lastError.map { "\($0.type): \($0.message)" } ?? "-"
                return [sample.type, sample.deadReason?.rawValue ?? "?", "\(group.count)", Formatting.clip("job \(sample.id): \(error)", 90)]
            }, indent: "  "))
            // Prefer a job whose payload carries a secret, to show it redacted.
            let ordered = dead.sorted { $0.id < $1.id }
            report.sampleDeadJob = (ordered.first { $0.payload.contains("\"secret\"") } ?? ordered.first)?.id
            if let sample = report.sampleDeadJob {
                inbox.append("  inspect one (secrets in payloads show as [REDACTED]): surety dlq show \(sample) --store \(url)")
            }
        }
        report.sections.append(inbox.joined(separator: "\n"))

        // The crash.
        if let crash {
            var lines = ["Worker crash"]
            var candidates = Set(crash.killedJobs)
            candidates.formUnion(counters.rescued)
            var killed: [(JobRecord, [AttemptRecord])] = []
            for id in candidates.sorted() {
                let attempts = try await store.attempts(of: id)
                guard attempts.contains(where: { $0.worker == crash.workerID && $0.outcome == .lost }), let job = byID[id] else { continue }
                killed.append((job, attempts))
            }
            if let problem = crash.problem {
                lines.append("  not simulated: \(problem)")
                report.checks.append(Check(status: .fail, text: "worker crash: \(problem)"))
            } else {
                lines.append("  worker process \(crash.pid) (\(crash.workerID)) was killed with SIGKILL while running \(Formatting.count(crash.killedJobs.count, "job")); its log: \(crash.logPath)")
                for (job, attempts) in killed {
                    let story = attempts.map { attempt -> String in
                        let outcome = attempt.outcome?.rawValue ?? "running"
                        return "attempt \(attempt.attempt) \(outcome) on \(attempt.worker)"
                    }.joined(separator: " → ")
                    lines.append("    job \(job.id) \(job.type): \(story) → \(job.state.rawValue)")
                }
                let allFinished = killed.allSatisfy { terminal.contains($0.0.state) }
                let ok = !killed.isEmpty && allFinished && Set(killed.map(\.0.id)).isSuperset(of: crash.killedJobs)
                report.checks.append(Check(
                    status: ok ? .pass : .fail,
                    text: "worker crash: \(Formatting.count(killed.count, "job")) of the killed worker rescued (attempt recorded as lost) and \(allFinished ? "finished" : "NOT all finished") in another worker"
                ))
            }
            report.sections.append(lines.joined(separator: "\n"))
        } else {
            report.checks.append(Check(status: .skipped, text: "worker crash (--no-crash)"))
        }

        // Email: exactly one per completed job.
        let emailJobs = jobs.filter { $0.type == DemoEmail.name }
        let completedEmails = Set(emailJobs.filter { $0.state == .completed }.map(\.id))
        let provider = try await store.database.read { db -> ProviderFigures in
            var figures = ProviderFigures()
            for row in try Row.fetchAll(db, sql: "SELECT job_id, COUNT(*) AS n FROM demo_email_provider GROUP BY job_id") {
                let jobID: Int64 = row["job_id"]
                let count: Int = row["n"]
                figures.perJob[jobID] = count
            }
            if let totals = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(send_requests), 0) AS r FROM demo_email_provider") {
                figures.rows = totals["n"]
                figures.requests = totals["r"]
            }
            return figures
        }
        let duplicated = provider.perJob.filter { $0.value > 1 }.count
        let missing = completedEmails.filter { provider.perJob[$0.rawValue] != 1 }.count
        let forUnfinished = provider.perJob.keys.filter { !completedEmails.contains(JobID($0)) }.count
        var email = ["Email (a context.effect through a simulated provider that deduplicates on the effect's idempotency key)"]
        email.append("  \(completedEmails.count) completed email jobs → \(provider.perJob.filter { completedEmails.contains(JobID($0.key)) }.count) with exactly one email accepted; \(duplicated) jobs with more than one")
        email.append("  \(provider.rows) emails accepted in all; the provider answered \(provider.requests - provider.rows) resends with the original message id (after lost responses or a crash)")
        if forUnfinished > 0 {
            email.append("  \(forUnfinished) emails were accepted for jobs that did not complete (the response was lost on every attempt): sent once, job in the inbox")
        }
        report.sections.append(email.joined(separator: "\n"))
        report.checks.append(Check(
            status: duplicated == 0 && missing == 0 ? .pass : .fail,
            text: "exactly one email per completed email job: \(completedEmails.count - missing) of \(completedEmails.count), \(duplicated) duplicated"
        ))

        // Payments: one transfer per completed job; money conserved.
        let paymentJobs = jobs.filter { $0.type == DemoPayment.name }
        let completedPayments = Set(paymentJobs.filter { $0.state == .completed }.map(\.id))
        let money = try await store.database.read { db -> MoneyFigures in
            var figures = MoneyFigures()
            figures.transfers = try Int64.fetchAll(db, sql: "SELECT job_id FROM demo_transfers")
            if let totals = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(balance), 0) AS b, COALESCE(SUM(opening_balance), 0) AS o, COUNT(*) AS n FROM demo_accounts") {
                figures.balance = totals["b"]
                figures.opening = totals["o"]
                figures.accounts = totals["n"]
            }
            return figures
        }
        let transferIDs = Set(money.transfers.map { JobID(rawValue: $0) })
        let retriedPayments = paymentJobs.filter { $0.state == .completed && $0.attempt > 1 }.count
        var payments = ["Payments (each moves money and records demo_transfers(job_id) in the transaction that completes the job)"]
        payments.append("  \(completedPayments.count) completed payment jobs → \(transferIDs.intersection(completedPayments).count) transfers; \(retriedPayments) of them needed more than one attempt and still moved money once")
        payments.append("  total balance \(money.balance) across \(money.accounts) accounts; opened with \(money.opening)")
        let strayTransfers = transferIDs.subtracting(completedPayments)
        if !strayTransfers.isEmpty {
            payments.append("  \(strayTransfers.count) transfers belong to payment jobs that did not complete (committed, then every later attempt failed)")
        }
        report.sections.append(payments.joined(separator: "\n"))
        report.checks.append(Check(
            status: money.balance == money.opening ? .pass : .fail,
            text: "money conserved: total balance \(money.balance) = \(money.opening) opened"
        ))
        report.checks.append(Check(
            status: completedPayments.isSubset(of: transferIDs) && transferIDs.isSubset(of: Set(paymentJobs.map(\.id))) ? .pass : .fail,
            text: "one transfer per completed payment job: \(transferIDs.intersection(completedPayments).count) of \(completedPayments.count)"
        ))

        // Unique key.
        report.checks.append(Check(
            status: uniqueFirst.inserted && !uniqueDuplicate.inserted && uniqueDuplicate.id == uniqueFirst.id ? .pass : .fail,
            text: "unique key: the second enqueue returned job \(uniqueDuplicate.id) and inserted nothing"
        ))

        // No job lost.
        let found = enqueued.filter { byID[$0] != nil }
        let completed = jobs.filter { $0.state == .completed }.count
        let cancelled = jobs.filter { $0.state == .cancelled }.count
        let unfinished = jobs.filter { !terminal.contains($0.state) }.count
        let accounted = completed + dead.count + cancelled + unfinished
        report.checks.insert(Check(
            status: found.count == enqueued.count && accounted == enqueued.count && jobs.count == enqueued.count ? .pass : .fail,
            text: "no job lost: \(enqueued.count) enqueued = \(accounted) accounted for (\(completed) completed + \(dead.count) dead + \(cancelled) cancelled + \(unfinished) unfinished)"
        ), at: 0)
        report.checks.insert(Check(
            status: unfinished == 0 ? .pass : .fail,
            text: unfinished == 0 ? "every job reached a final state before the deadline" : "\(unfinished) jobs had not reached a final state at the deadline"
        ), at: 1)
        return report
    }

    struct ProviderFigures: Sendable {
        var perJob: [Int64: Int] = [:]
        var rows = 0
        var requests = 0
    }

    struct MoneyFigures: Sendable {
        var transfers: [Int64] = []
        var balance = 0
        var opening = 0
        var accounts = 0
    }

    /// Every job in the store, newest first, paged.
    static func allJobs(_ store: any CommandStore) async throws -> [JobRecord] {
        var all: [JobRecord] = []
        var before: JobID?
        while true {
            let page = try await store.jobs(JobFilter(beforeID: before, limit: 5000))
            all += page
            guard page.count == 5000, let last = page.last else { return all }
            before = last.id
        }
    }

    func text(elapsed: TimeInterval) -> String {
        var out = ["Report (\(Formatting.duration(elapsed)) in all)", ""]
        for section in sections {
            out.append(section)
            out.append("")
        }
        out.append("Checks")
        for check in checks { out.append("  \(check.status.rawValue)  \(check.text)") }
        out.append("RESULT: \(passed ? "PASS" : "FAIL")")
        out.append("")
        out.append("Explore: surety stats --store \(url)  ·  surety dlq list --store \(url)  ·  surety jobs show ID --store \(url)")
        return out.joined(separator: "\n")
    }
}
