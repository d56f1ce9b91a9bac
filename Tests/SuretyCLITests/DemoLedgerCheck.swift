import Foundation
import Surety
import SuretyCLI

/// The checks the multi-process tests make on the demo's tables after a run, from the database:
///
/// - no job was completed twice (by the workers' logs of accepted completions);
/// - email: exactly one provider message per completed email job, to an address of its tenant,
///   and no message for anything else;
/// - money: at most one transfer per job, one for every completed payment, each matching its
///   job's payload and tenant, and balances equal to the opening balances moved by exactly those
///   transfers (so nothing was created, destroyed or moved twice).
///
/// On SQLite a payment's transfer commits with its job's completion, so a transfer of a job that
/// did not complete is a failure. On PostgreSQL the transfer is an effect committed before the
/// completion: a payment whose every attempt ran out after its transfer committed ends dead with
/// its transfer (still moved once); any other transfer of a job that did not complete is a failure.
struct DemoLedgerCheck {
    var completed = 0
    var completedTwice: [JobID] = []
    var completionsLogged = 0
    var emailProblems: [String] = []
    var moneyProblems: [String] = []
    var summary = ""

    /// How often each job was completed, by the workers' logs (`job attempt finished` with
    /// `next=completed`, written only when the store accepted the completion); the store keeps a
    /// successful attempt in the job's row, not as a history row, so two completions of one job
    /// would show here, in the logs of two processes.
    static func completions(in logs: [String]) -> [JobID: Int] {
        var counts: [JobID: Int] = [:]
        for log in logs {
            for line in log.split(separator: "\n") where line.contains("job attempt finished") && line.contains("next=completed") {
                guard let range = line.range(of: "job_id=") else { continue }
                let digits = line[range.upperBound...].prefix { $0.isNumber }
                if let id = Int64(digits) { counts[JobID(rawValue: id), default: 0] += 1 }
            }
        }
        return counts
    }

    /// - Parameter logs: the standard error of every worker process of the run.
    static func run(_ target: DemoStoreTarget, records: [JobRecord], logs: [String]) async throws -> DemoLedgerCheck {
        var check = DemoLedgerCheck()
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        let completed = records.filter { $0.state == .completed }
        check.completed = completed.count
        let completions = Self.completions(in: logs)
        check.completedTwice = completions.filter { $0.value > 1 }.map(\.key).sorted()
        check.completionsLogged = completions.count

        // Email.
        let messages = try await target.tables.messages()
        let messagesByJob = Dictionary(grouping: messages, by: \.jobID)
        let completedEmails = completed.filter { $0.type == DemoEmail.name }
        for job in completedEmails {
            let sent = messagesByJob[job.id] ?? []
            guard sent.count == 1, let message = sent.first else {
                check.emailProblems.append("job \(job.id): \(sent.count) messages")
                continue
            }
            let payload = try JSONDecoder().decode(DemoEmail.self, from: Data(job.payload.utf8))
            if message.tenant != job.tenant.rawValue || message.recipient != payload.to
                || !message.recipient.hasSuffix("@\(job.tenant.rawValue).example") {
                check.emailProblems.append("job \(job.id) of \(job.tenant): sent to \(message.recipient) as tenant \(message.tenant)")
            }
        }
        for (jobID, sent) in messagesByJob {
            if sent.count > 1 { check.emailProblems.append("job \(jobID): \(sent.count) messages") }
            if byID[jobID]?.type != DemoEmail.name { check.emailProblems.append("message for job \(jobID), not an email job") }
            for message in sent where !message.recipient.hasSuffix("@\(message.tenant).example") {
                check.emailProblems.append("job \(jobID): recipient \(message.recipient) is not an address of tenant \(message.tenant)")
            }
        }
        let resends = messages.map(\.sendRequests).reduce(0, +) - messages.count

        // Money.
        let transfers = try await target.tables.transfers()
        let accounts = try await target.tables.accounts()
        let completedPayments = Set(completed.filter { $0.type == DemoPayment.name }.map(\.id))
        let transferJobs = Set(transfers.map(\.jobID))
        if transfers.count != transferJobs.count { check.moneyProblems.append("\(transfers.count - transferJobs.count) duplicate transfers") }
        let missingTransfers = completedPayments.subtracting(transferJobs)
        var strayTransfers = transferJobs.subtracting(completedPayments)
        var deadAfterTransfer = 0
        if target.kind == .postgres {
            let ranOut = strayTransfers.filter { id in
                guard let job = byID[id], job.state == .dead else { return false }
                return job.deadReason == .maxAttempts || job.deadReason == .retryBudget
            }
            deadAfterTransfer = ranOut.count
            strayTransfers.subtract(ranOut)
        }
        if !missingTransfers.isEmpty { check.moneyProblems.append("completed payments without a transfer: \(missingTransfers.sorted().prefix(10))") }
        if !strayTransfers.isEmpty { check.moneyProblems.append("transfers of payments that did not complete: \(strayTransfers.sorted().prefix(10))") }
        var expected: [String: Int] = [:]
        for account in accounts { expected["\(account.tenant)/\(account.account)"] = account.opening }
        for transfer in transfers {
            if let job = byID[transfer.jobID], let payload = try? JSONDecoder().decode(DemoPayment.self, from: Data(job.payload.utf8)) {
                if job.tenant.rawValue != transfer.tenant || payload.from != transfer.from || payload.to != transfer.to || payload.amount != transfer.amount {
                    check.moneyProblems.append("transfer of job \(transfer.jobID) does not match its payload")
                }
            } else {
                check.moneyProblems.append("transfer of job \(transfer.jobID), not a payment job")
            }
            expected["\(transfer.tenant)/\(transfer.from)", default: .min / 2] -= transfer.amount
            expected["\(transfer.tenant)/\(transfer.to)", default: .min / 2] += transfer.amount
        }
        for account in accounts where expected["\(account.tenant)/\(account.account)"] != account.balance {
            check.moneyProblems.append("\(account.tenant)/\(account.account): balance \(account.balance), expected \(expected["\(account.tenant)/\(account.account)"] ?? 0)")
        }
        let totalBalance = accounts.map(\.balance).reduce(0, +)
        let totalOpening = accounts.map(\.opening).reduce(0, +)
        if totalBalance != totalOpening { check.moneyProblems.append("total balance \(totalBalance) != opened \(totalOpening)") }

        check.summary = """
              email: \(completedEmails.count) completed jobs, \(messages.count) messages, \(resends) deduplicated resends; problems: \(check.emailProblems.count)
              money: \(completedPayments.count) completed payments, \(transfers.count) transfers (\(deadAfterTransfer) of payments that ran out of attempts after their transfer); \
            total balance \(totalBalance) = opened \(totalOpening) over \(accounts.count) accounts; problems: \(check.moneyProblems.count)
              completions in the workers' logs: \(check.completionsLogged) jobs, \(check.completedTwice.count) completed twice
            """
        return check
    }
}
