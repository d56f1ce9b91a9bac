import Foundation
import GRDB
import Surety
import SuretyCLI
import SuretySQLite
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chaos: three real worker processes share one SQLite file while the test SIGKILLs a random one
/// every few hundred milliseconds and starts a replacement. Afterwards the database (never a
/// worker's counters) must show that no job was lost or stuck, no email went twice or to another
/// tenant, and no money was created, destroyed or moved twice.
///
/// Reproduce a run with `SURETY_CHAOS_SEED=<seed>` (the seed is printed).
@Suite("Chaos (multi-process, SIGKILL)")
struct ChaosTests {
    static let tenants = ["acme", "globex", "initech", "umbrella"]
    static let jobCount = 2000
    static let chaosDuration: Duration = .seconds(20)
    static let drainDeadline: Duration = .seconds(30)

    @Test("random SIGKILLs of worker processes lose no job, send no email twice and conserve money")
    func chaos() async throws {
        let seed = ProcessInfo.processInfo.environment["SURETY_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
        print("ChaosTests.chaos: seed \(seed) (rerun with SURETY_CHAOS_SEED=\(seed))")
        var random = ChaosRandom(seed: seed)
        let dir = try TempDir()
        let url = dir.storeURL()
        let migrate = try await CLI.run(["migrate", "--store", url, "--demo-tables"], in: dir)
        try #require(migrate.status == 0, "\(migrate)")
        let store = try await openStore(dir)

        // 1. The workload, in one transaction.
        let jobs = try Self.workload(&random)
        let inserted = try await store.enqueue(jobs)
        let enqueued = Set(inserted.filter(\.inserted).map(\.id))
        try #require(enqueued.count == jobs.count)

        // 2. Three workers, killed and replaced at random.
        let workers = ChaosWorkers(dir: dir, url: url)
        defer { workers.killAll() }
        for _ in 0..<3 { try workers.start() }
        let chaosEnd = ContinuousClock.now + Self.chaosDuration
        var kills = 0
        while ContinuousClock.now < chaosEnd {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...500, using: &random)))
            let victim = workers.removeRandom(using: &random)
            victim.send(SIGKILL)
            _ = try await victim.waitForExit(timeout: .seconds(10))
            kills += 1
            try workers.start()
        }

        // 3. The survivors finish (until a deadline), then stop gracefully.
        let terminalStates = JobState.terminal.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let drainStart = ContinuousClock.now
        var unfinished = -1
        while ContinuousClock.now - drainStart < Self.drainDeadline {
            unfinished = try await store.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM surety_jobs WHERE state NOT IN (\(terminalStates))") ?? 0
            }
            if unfinished == 0 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let drained = ContinuousClock.now - drainStart
        let survivors = workers.all()
        for worker in survivors { worker.send(SIGTERM) }
        var cleanExits = 0
        for worker in survivors {
            if try await worker.waitForExit(timeout: .seconds(30)) == 0 { cleanExits += 1 }
        }

        // 4. Check the database.
        let records = try await Self.allJobs(store)
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        let completed = records.filter { $0.state == .completed }
        let dead = records.filter { $0.state == .dead }
        let other = records.filter { $0.state != .completed && $0.state != .dead }
        let deadWithoutReason = dead.filter { $0.deadReason == nil }
        let lostAttempts = try await store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM surety_attempts WHERE outcome = 'lost'") ?? 0
        }

        // Email: exactly one provider message per completed email job, to an address of its tenant.
        let messages = try await store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT job_id, tenant, recipient, send_requests FROM demo_email_provider").map {
                ChaosMessage(jobID: JobID(rawValue: $0["job_id"]), tenant: $0["tenant"], recipient: $0["recipient"], sendRequests: $0["send_requests"])
            }
        }
        let messagesByJob = Dictionary(grouping: messages, by: \.jobID)
        let completedEmails = completed.filter { $0.type == DemoEmail.name }
        var emailProblems: [String] = []
        for job in completedEmails {
            let sent = messagesByJob[job.id] ?? []
            guard sent.count == 1, let message = sent.first else {
                emailProblems.append("job \(job.id): \(sent.count) messages")
                continue
            }
            let payload = try JSONDecoder().decode(DemoEmail.self, from: Data(job.payload.utf8))
            if message.tenant != job.tenant.rawValue || message.recipient != payload.to
                || !message.recipient.hasSuffix("@\(job.tenant.rawValue).example") {
                emailProblems.append("job \(job.id) of \(job.tenant): sent to \(message.recipient) as tenant \(message.tenant)")
            }
        }
        for (jobID, sent) in messagesByJob {
            if sent.count > 1 { emailProblems.append("job \(jobID): \(sent.count) messages") }
            if byID[jobID]?.type != DemoEmail.name { emailProblems.append("message for job \(jobID), not an email job") }
            for message in sent where !message.recipient.hasSuffix("@\(message.tenant).example") {
                emailProblems.append("job \(jobID): recipient \(message.recipient) is not an address of tenant \(message.tenant)")
            }
        }
        let resends = messages.map(\.sendRequests).reduce(0, +) - messages.count

        // Money: balances = opening balances moved by exactly the completed payments.
        let transfers = try await store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT job_id, tenant, from_account, to_account, amount FROM demo_transfers").map {
                ChaosTransfer(jobID: JobID(rawValue: $0["job_id"]), tenant: $0["tenant"], from: $0["from_account"], to: $0["to_account"], amount: $0["amount"])
            }
        }
        let accounts = try await store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT tenant, account, balance, opening_balance FROM demo_accounts").map {
                ChaosAccount(tenant: $0["tenant"], account: $0["account"], balance: $0["balance"], opening: $0["opening_balance"])
            }
        }
        let completedPayments = Set(completed.filter { $0.type == DemoPayment.name }.map(\.id))
        let transferJobs = Set(transfers.map(\.jobID))
        var moneyProblems: [String] = []
        if transfers.count != transferJobs.count { moneyProblems.append("\(transfers.count - transferJobs.count) duplicate transfers") }
        let missingTransfers = completedPayments.subtracting(transferJobs)
        let strayTransfers = transferJobs.subtracting(completedPayments)
        if !missingTransfers.isEmpty { moneyProblems.append("completed payments without a transfer: \(missingTransfers.sorted().prefix(10))") }
        if !strayTransfers.isEmpty { moneyProblems.append("transfers of payments that did not complete: \(strayTransfers.sorted().prefix(10))") }
        var expected: [String: Int] = [:]
        for account in accounts { expected["\(account.tenant)/\(account.account)"] = account.opening }
        for transfer in transfers {
            // Each transfer must match its job's payload and tenant.
            if let job = byID[transfer.jobID], let payload = try? JSONDecoder().decode(DemoPayment.self, from: Data(job.payload.utf8)) {
                if job.tenant.rawValue != transfer.tenant || payload.from != transfer.from || payload.to != transfer.to || payload.amount != transfer.amount {
                    moneyProblems.append("transfer of job \(transfer.jobID) does not match its payload")
                }
            } else {
                moneyProblems.append("transfer of job \(transfer.jobID), not a payment job")
            }
            expected["\(transfer.tenant)/\(transfer.from)", default: .min / 2] -= transfer.amount
            expected["\(transfer.tenant)/\(transfer.to)", default: .min / 2] += transfer.amount
        }
        for account in accounts where expected["\(account.tenant)/\(account.account)"] != account.balance {
            moneyProblems.append("\(account.tenant)/\(account.account): balance \(account.balance), expected \(expected["\(account.tenant)/\(account.account)"] ?? 0)")
        }
        let totalBalance = accounts.map(\.balance).reduce(0, +)
        let totalOpening = accounts.map(\.opening).reduce(0, +)
        if totalBalance != totalOpening { moneyProblems.append("total balance \(totalBalance) != opened \(totalOpening)") }

        let deadReasons = Dictionary(grouping: dead) { $0.deadReason?.rawValue ?? "none" }.mapValues(\.count)
            .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("""
            ChaosTests.chaos: seed \(seed): \(enqueued.count) jobs; \(kills) SIGKILLs in \(Self.chaosDuration), \(workers.started) worker processes in all; \
            drained in \(drained) (\(cleanExits) of \(survivors.count) survivors exited 0 on SIGTERM)
              jobs: \(completed.count) completed + \(dead.count) dead (\(deadReasons)) + \(other.count) other; \(lostAttempts) attempts lost to kills
              email: \(completedEmails.count) completed jobs, \(messages.count) messages, \(resends) deduplicated resends; problems: \(emailProblems.count)
              money: \(completedPayments.count) completed payments, \(transfers.count) transfers; total balance \(totalBalance) = opened \(totalOpening) over \(accounts.count) accounts; problems: \(moneyProblems.count)
            """)

        #expect(records.count == enqueued.count && Set(records.map(\.id)) == enqueued, "every enqueued job is in the store")
        #expect(unfinished == 0 && other.isEmpty, "stuck or lost: \(other.prefix(10).map { "\($0.id) \($0.type) \($0.state.rawValue)" })")
        #expect(deadWithoutReason.isEmpty, "dead without a reason: \(deadWithoutReason.prefix(10).map(\.id))")
        #expect(emailProblems.isEmpty, "\(emailProblems.prefix(10))")
        #expect(moneyProblems.isEmpty, "\(moneyProblems.prefix(10))")
        #expect(kills > 10, "the chaos loop killed workers")
        #expect(lostAttempts > 0, "some kills hit running jobs")
    }

    /// ~2000 mixed demo jobs for several tenants.
    static func workload(_ random: inout ChaosRandom) throws -> [NewJob] {
        let tenants = try Self.tenants.map { try TenantID($0) }
        let now = Date()
        var jobs: [NewJob] = []
        func add<J: Job>(_ job: J, tenant: TenantID) throws {
            let options = J.options
            jobs.append(NewJob(
                type: J.name, queue: options.queue, priority: options.priority, tenant: tenant,
                payload: try JobCoding.encode(job), runAt: now, enqueuedAt: now, maxAttempts: options.maxAttempts,
                uniqueKey: nil, uniqueScope: options.uniqueScope, tags: ["chaos"], correlation: [:]
            ))
        }
        for _ in 0..<jobCount {
            let tenant = tenants.randomElement(using: &random)!
            let pick = Int.random(in: 0..<100, using: &random)
            switch pick {
            case 0..<30:
                let user = Int.random(in: 1...300, using: &random)
                try add(DemoEmail(to: "user\(user)@\(tenant.rawValue).example", subject: "Chaos \(user)"), tenant: tenant)
            case 30..<55:
                let from = Int.random(in: 1...5, using: &random)
                var to = Int.random(in: 1...4, using: &random)
                if to >= from { to += 1 }
                let amount = Int.random(in: 0..<100, using: &random) < 3 ? 5000 : Int.random(in: 5...150, using: &random)
                try add(DemoPayment(from: "acct-\(from)", to: "acct-\(to)", amount: amount), tenant: tenant)
            case 55..<75:
                try add(DemoFlaky(transientRate: 0.3, permanentRate: 0.03), tenant: tenant)
            case 75..<90:
                try add(DemoNoop(), tenant: tenant)
            default:
                try add(DemoSleep(milliseconds: Int.random(in: 20...300, using: &random)), tenant: tenant)
            }
        }
        return jobs
    }

    static func allJobs(_ store: SQLiteStore) async throws -> [JobRecord] {
        var all: [JobRecord] = []
        var before: JobID?
        while true {
            let page = try await store.jobs(JobFilter(beforeID: before, limit: 1000))
            all += page
            guard page.count == 1000, let last = page.last else { return all }
            before = last.id
        }
    }
}

/// SplitMix64, seeded (the test's own choices: workload, victims, pauses).
struct ChaosRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return DemoRandom.mix(state)
    }
}

struct ChaosMessage: Sendable {
    var jobID: JobID
    var tenant: String
    var recipient: String
    var sendRequests: Int
}

struct ChaosTransfer: Sendable {
    var jobID: JobID
    var tenant: String
    var from: String
    var to: String
    var amount: Int
}

struct ChaosAccount: Sendable {
    var tenant: String
    var account: String
    var balance: Int
    var opening: Int
}

/// The chaos test's worker processes: every one ever started is killed on every path.
final class ChaosWorkers: Sendable {
    let dir: TempDir
    let url: String
    private let state = Mutex<(running: [SuretyProcess], everything: [SuretyProcess])>(([], []))

    init(dir: TempDir, url: String) {
        self.dir = dir
        self.url = url
    }

    var started: Int { state.withLock { $0.everything.count } }

    func start() throws {
        let number = started + 1
        let process = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--lease-seconds", "2", "--rescue-interval-seconds", "1",
            "--poll-interval-ms", "100", "--worker-id", "chaos-\(number)", "--shutdown-grace-seconds", "10",
        ], in: dir, name: "chaos-\(number)")
        state.withLock {
            $0.running.append(process)
            $0.everything.append(process)
        }
    }

    func removeRandom(using random: inout ChaosRandom) -> SuretyProcess {
        let count = state.withLock { $0.running.count }
        let index = Int.random(in: 0..<count, using: &random)
        return state.withLock { $0.running.remove(at: index) }
    }

    func all() -> [SuretyProcess] { state.withLock { $0.running } }

    func killAll() {
        for process in state.withLock({ $0.everything }) { process.killIfRunning() }
    }
}
