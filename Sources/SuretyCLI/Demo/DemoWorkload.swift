import Foundation
import Surety

/// The demo's mixed workload: what a small multi-tenant SaaS enqueues in a busy minute.
struct DemoWorkload {
    /// Jobs to insert in one transaction.
    var jobs: [NewJob] = []
    /// The job enqueued twice under one unique key (through `JobQueue`, to show deduplication).
    var uniqueJob: DemoEmail
    var uniqueTenant: TenantID
    var uniqueKey: String
    var uniqueOptions: EnqueueOptions

    static let tenants = ["acme", "globex", "initech", "umbrella"]

    /// Builds about `count` jobs (the unique-key job included) from `seed`.
    init(count: Int, seed: UInt64, now: Date) throws {
        var random = SeededGenerator(seed: seed)
        let tenants = try Self.tenants.map { try TenantID($0) }
        var planned: [NewJob] = []
        var requestNumber = 1000
        func correlation(_ extra: [String: String] = [:]) -> [String: String] {
            requestNumber += 1
            return extra.merging(["request_id": "req-\(requestNumber)"]) { new, _ in new }
        }
        func add<J: Job>(
            _ job: J, tenant: TenantID, delay: Duration? = nil, priority: Int? = nil,
            tags: [String] = [], correlation: [String: String]
        ) throws {
            let options = J.options
            planned.append(NewJob(
                type: J.name, queue: options.queue, priority: priority ?? options.priority, tenant: tenant,
                payload: try JobCoding.encode(job), runAt: delay.map { now.adding($0) } ?? now, enqueuedAt: now,
                maxAttempts: options.maxAttempts, uniqueKey: nil, uniqueScope: options.uniqueScope,
                tags: ["demo"] + tags, correlation: correlation
            ))
        }

        let total = max(count, 20)
        let sleeps = max(6, total / 25)
        let emails = total * 30 / 100
        let payments = total * 25 / 100
        let flakies = total * 20 / 100
        let delayed = 2
        let noops = max(0, total - sleeps - emails - payments - flakies - delayed - 1)

        // Slow jobs first: lowest ids and most urgent, so the worker process that the demo kills
        // is running some of them when it dies.
        for index in 0..<sleeps {
            let tenant = tenants[index % tenants.count]
            let milliseconds = Int.random(in: 1200...2500, using: &random)
            try add(DemoSleep(milliseconds: milliseconds, attempts: 1), tenant: tenant, tags: ["report"],
                    correlation: correlation(["report_id": "rpt-\(index + 1)"]))
        }

        let subjects = ["Welcome aboard", "Your invoice", "Password changed", "Weekly digest", "Your export is ready"]
        for index in 0..<emails {
            let tenant = tenants.randomElement(using: &random)!
            let user = Int.random(in: 1...400, using: &random)
            // About 3 % of addresses are invalid: the provider rejects them (a permanent failure).
            let invalid = Double.random(in: 0..<1, using: &random) < 0.03
            let to = invalid ? "user\(user)-at-\(tenant)" : "user\(user)@\(tenant).example"
            // Some payloads carry a secret (an unsubscribe token): it must never show anywhere.
            let secret = index % 4 == 0 ? "tok-\(String(random.next(), radix: 36))" : nil
            try add(DemoEmail(to: to, subject: subjects.randomElement(using: &random)!, secret: secret), tenant: tenant,
                    correlation: correlation(["user_id": "user-\(user)"]))
        }

        for _ in 0..<payments {
            let tenant = tenants.randomElement(using: &random)!
            let from = Int.random(in: 1...5, using: &random)
            var to = Int.random(in: 1...4, using: &random)
            if to >= from { to += 1 }
            // About 3 % are larger than an account's opening balance: insufficient funds (permanent).
            let amount = Double.random(in: 0..<1, using: &random) < 0.03 ? 5000 : Int.random(in: 5...150, using: &random)
            let order = Int.random(in: 10000...99999, using: &random)
            try add(DemoPayment(from: "acct-\(from)", to: "acct-\(to)", amount: amount, secret: "card-\(order)"),
                    tenant: tenant, correlation: correlation(["order_id": "ord-\(order)"]))
        }

        // Flaky work: mostly mild, some harsh (to reach max attempts), some that fail permanently.
        let profiles: [(Double, Double, Int)] = [(0.3, 0.05, 60), (0.5, 0.0, 20), (0.97, 0.0, 10), (0.0, 0.5, 10)]
        for index in 0..<flakies {
            var pick = Int.random(in: 0..<100, using: &random)
            var profile = profiles[0]
            for candidate in profiles {
                if pick < candidate.2 { profile = candidate; break }
                pick -= candidate.2
            }
            try add(DemoFlaky(transientRate: profile.0, permanentRate: profile.1), tenant: tenants[index % tenants.count],
                    tags: ["sync"], correlation: correlation())
        }

        for index in 0..<noops {
            let tenant = index % 5 == 0 ? TenantID.system : tenants.randomElement(using: &random)!
            try add(DemoNoop(), tenant: tenant, tags: tenant == .system ? ["maintenance"] : [], correlation: correlation())
        }

        // Two delayed jobs: they wait in `scheduled` and run a few seconds in.
        try add(DemoNoop(), tenant: tenants[0], delay: .seconds(3), tags: ["delayed"], correlation: correlation())
        try add(DemoEmail(to: "billing@acme.example", subject: "Trial ends tomorrow"), tenant: tenants[0],
                delay: .seconds(5), tags: ["delayed"], correlation: correlation(["user_id": "user-1"]))

        jobs = planned
        uniqueTenant = tenants[0]
        uniqueKey = "welcome:user-42"
        uniqueJob = DemoEmail(to: "user42@acme.example", subject: "Welcome aboard", secret: "tok-welcome-42")
        uniqueOptions = EnqueueOptions(uniqueKey: uniqueKey, tags: ["demo", "unique"], correlation: ["user_id": "user-42", "request_id": "req-signup-42"])
    }
}
