import Foundation
import Surety
import SuretySQLite
import Testing
@testable import SuretyCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator tools of the operations issue: bulk dead-letter actions by filter with a paced
/// release, `dlq show`'s diagnosis, `prune`, `top` and `stats`.
@Suite("Operations: dead-letter tools, retention, top and stats")
struct OperationsTests {
    static let acme = try! TenantID("acme")
    static let globex = try! TenantID("globex")
    static let timeout = AttemptError(type: "Timeout", message: "attempt exceeded its timeout of 30 seconds", errorClass: .transient)
    static let refused = AttemptError(type: "ProviderRefused", message: "mailbox does not exist", errorClass: .permanent)

    /// Writes a job that reached `state` at `finishedAt` straight into the store (no worker), with
    /// `attempts` recorded attempts that all failed with `error` (or succeeded).
    @discardableResult
    static func seed(
        _ store: SQLiteStore, type: String = "demo.email", queue: String = "email", tenant: TenantID = acme,
        payload: String = #"{"to":"ada@example.com","subject":"Welcome","secret":"sk-live-ROTATED-KEY-42"}"#,
        state: JobState, error: AttemptError? = nil, attempts: Int = 1, finishedAt: Date = Date(),
        correlation: [String: String] = ["user_id": "u-42"]
    ) async throws -> JobID {
        let start = finishedAt.addingTimeInterval(-Double(attempts) * 10)
        let id = try await store.enqueue([NewJob(
            type: type, queue: queue, priority: 0, tenant: tenant, payload: payload, runAt: start, enqueuedAt: start,
            maxAttempts: attempts, correlation: correlation
        )])[0].id
        for attempt in 1...attempts {
            let at = start.addingTimeInterval(Double(attempt - 1) * 10)
            let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 100, worker: "w1", now: at, leaseUntil: at.addingTimeInterval(30)))
            let job = try #require(claimed.first { $0.id == id })
            let last = attempt == attempts
            let next: NextState
            switch state {
            case .completed where last: next = .completed
            case .dead where last: next = .dead(error?.errorClass == .permanent ? .permanentError : .maxAttempts)
            default: next = .retry(at: at.addingTimeInterval(10))
            }
            let ended = last ? finishedAt : at.addingTimeInterval(1)
            _ = try await store.finish([AttemptFinish(
                lease: job.lease, attempt: attempt, worker: "w1", startedAt: at, endedAt: ended,
                outcome: state == .completed && last ? .succeeded : .failed, error: state == .completed && last ? nil : error, next: next
            )])
        }
        return id
    }

    @Test("bulk requeue by type and error class with --dry-run, then paced by --release-rate, one audit row per job with who and why")
    func bulkRequeueByFilterWithReleaseRate() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        var timeouts: [JobID] = []
        for index in 0..<5 {
            timeouts.append(try await Self.seed(store, tenant: index % 2 == 0 ? Self.acme : Self.globex, state: .dead, error: Self.timeout, attempts: 3))
        }
        let refusedID = try await Self.seed(store, state: .dead, error: Self.refused)
        let otherType = try await Self.seed(store, type: "demo.flaky", queue: "default", payload: #"{"transientRate":0,"permanentRate":1}"#, state: .dead, error: Self.timeout)

        let filters = ["--all-matching", "--type", "demo.email", "--error-class", "transient", "--error-type", "Timeout", "--finished-after", "1h"]
        let dry = try await CLI.run(["dlq", "requeue", "--store", url, "--by", "oncall@example.com", "--reason", "provider key rotated; new key deployed",
                                     "--release-rate", "2/s", "--dry-run", "--json"] + filters, in: dir)
        #expect(dry.status == 0, "\(dry)")
        let dryJSON = try dry.json()
        #expect(Set(dryJSON["changed"] as? [Int] ?? []) == Set(timeouts.map { Int($0.rawValue) }))
        #expect(dryJSON["release_rate_per_second"] as? Double == 2)
        #expect(dryJSON["released_by"] is String)
        for id in timeouts { #expect(try await store.job(id)?.state == .dead) }
        #expect(try await store.audit(of: timeouts[0]).isEmpty)

        let before = Date()
        let run = try await CLI.run(["dlq", "requeue", "--store", url, "--by", "oncall@example.com", "--reason", "provider key rotated; new key deployed",
                                     "--release-rate", "2/s"] + filters, in: dir)
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("5 jobs requeued by oncall@example.com"), "\(run)")
        #expect(run.stdout.contains("released at most 2/s"), "\(run)")
        #expect(!run.stderr.contains("["), "no progress bar when standard error is not a terminal: \(run.stderr)")

        let records = try await timeouts.asyncMap { try #require(try await store.job($0)) }
        #expect(records.allSatisfy { $0.attempt == 0 && $0.deadReason == nil })
        // Two per second: release times 0, 0, 1, 1, 2 seconds after the action.
        let offsets = records.map(\.runAt).sorted().map { $0.timeIntervalSince(records.map(\.runAt).min()!) }
        #expect(offsets.map { Int($0.rounded()) } == [0, 0, 1, 1, 2], "\(offsets)")
        #expect(records.filter { $0.state == .scheduled }.count >= 3, "later batches wait in scheduled")
        for record in records {
            let audit = try await store.audit(of: record.id)
            #expect(audit.count == 1)
            #expect(audit.first?.action == "requeue" && audit.first?.actor == "oncall@example.com" && audit.first?.reason == "provider key rotated; new key deployed")
            #expect(audit.first.map { $0.at >= before.addingTimeInterval(-1) } == true)
        }
        #expect(try await store.job(refusedID)?.state == .dead, "a permanent error of the same type is left alone")
        #expect(try await store.job(otherType)?.state == .dead, "another type is left alone")

        // Bad input: a malformed rate or class is a usage error and changes nothing.
        let badRate = try await CLI.run(["dlq", "requeue", "--store", url, "--by", "a", "--reason", "b", "--all-matching", "--release-rate", "fast"], in: dir)
        #expect(badRate.status == 2 && badRate.stderr.contains("--release-rate"), "\(badRate)")
        let badClass = try await CLI.run(["dlq", "discard", "--store", url, "--by", "a", "--reason", "b", "--all-matching", "--error-class", "sometimes"], in: dir)
        #expect(badClass.status == 2 && badClass.stderr.contains("--error-class"), "\(badClass)")
        #expect(try await store.job(refusedID)?.state == .dead)
    }

    @Test("dlq show says what the job was trying to do and why it failed, attempt by attempt, with secrets redacted")
    func showExplainsTheFailure() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        let id = try await Self.seed(store, state: .dead, error: Self.timeout, attempts: 3, correlation: ["user_id": "u-42", "request_id": "req-9"])

        let text = try await CLI.run(["dlq", "show", "\(id)", "--store", url], in: dir)
        #expect(text.status == 0, "\(text)")
        for expected in ["What it was trying to do:", "demo.email for tenant acme, queue email", "request_id=req-9", "user_id=u-42",
                         "Why it failed:", "dead (max_attempts) after 3 of 3 attempts", "3× Timeout (transient): attempt exceeded its timeout",
                         "Attempt history:"] {
            #expect(text.stdout.contains(expected), "missing '\(expected)' in\n\(text.stdout)")
        }
        #expect(!text.stdout.contains("sk-live-ROTATED-KEY-42") && !text.stderr.contains("sk-live-ROTATED-KEY-42"), "the secret is redacted")

        let json = try await CLI.run(["dlq", "show", "\(id)", "--store", url, "--json"], in: dir)
        #expect(json.status == 0, "\(json)")
        #expect(!json.stdout.contains("sk-live-ROTATED-KEY-42"))
        let failure = try #require(try json.json()["failure"] as? [String: Any])
        let errors = try #require(failure["errors"] as? [[String: Any]])
        #expect(errors.first?["type"] as? String == "Timeout" && errors.first?["count"] as? Int == 3)
        #expect(failure["first_failure_at"] is String)
        #expect((try json.json()["attempts"] as? [Any])?.count == 3)
    }

    @Test("prune deletes finished jobs past their ages in batches (dry run first); dead jobs are kept longer and audit rows outlive their job")
    func pruneByAge() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        let old = Date().addingTimeInterval(-3 * 86_400)
        var oldCompleted: [JobID] = []
        for _ in 0..<7 { oldCompleted.append(try await Self.seed(store, queue: "email", state: .completed, finishedAt: old)) }
        let fresh = try await Self.seed(store, state: .completed)
        let oldDead = try await Self.seed(store, state: .dead, error: Self.timeout, finishedAt: old)
        let discarded = try await Self.seed(store, state: .dead, error: Self.refused, finishedAt: old)
        _ = try await store.discard([discarded], action: OperatorAction(actor: "oncall", reason: "address is wrong", at: old))

        let dry = try await CLI.run(["prune", "--store", url, "--dry-run", "--json", "--keep-cancelled", "1d"], in: dir)
        #expect(dry.status == 0, "\(dry)")
        let dryJSON = try dry.json()
        #expect(dryJSON["completed"] as? Int == 7 && dryJSON["cancelled"] as? Int == 1 && dryJSON["dead"] as? Int == 0)
        #expect(try await store.job(oldCompleted[0]) != nil, "a dry run deletes nothing")

        let prune = try await CLI.run(["prune", "--store", url, "--prune-batch", "3", "--keep-cancelled", "1d"], in: dir)
        #expect(prune.status == 0, "\(prune)")
        #expect(prune.stdout.contains("8 jobs and 0 audit rows pruned"), "\(prune)")
        for id in oldCompleted { #expect(try await store.job(id) == nil) }
        #expect(try await store.job(fresh)?.state == .completed)
        #expect(try await store.job(oldDead)?.state == .dead, "dead jobs are kept 30 days by default")
        #expect(try await store.job(discarded) == nil)
        #expect(try await store.audit(of: discarded).count == 1, "the audit row outlives its job")

        let again = try await CLI.run(["prune", "--store", url, "--keep-dead", "1d", "--keep-audit", "2d", "--json"], in: dir)
        #expect(again.status == 0, "\(again)")
        let againJSON = try again.json()
        #expect(againJSON["dead"] as? Int == 1 && againJSON["audit"] as? Int == 1)

        let bad = try await CLI.run(["prune", "--store", url, "--keep-completed", "soon"], in: dir)
        #expect(bad.status == 2 && bad.stderr.contains("--keep-completed"), "\(bad)")
    }

    @Test("top draws throughput, failure rate, retries, latency percentiles and dead-letter size per queue and type; stats has the same figures")
    func topAndStats() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        for _ in 0..<6 { try await Self.seed(store, state: .completed) }
        try await Self.seed(store, state: .completed, error: Self.timeout, attempts: 3)
        for _ in 0..<2 { try await Self.seed(store, state: .dead, error: Self.timeout, attempts: 2) }
        try await Self.seed(store, type: "demo.payment", queue: "payments", payload: #"{"from":"acct-1","to":"acct-2","amount":10}"#, state: .dead, error: Self.refused)

        let top = try await CLI.run(["top", "--store", url, "--iterations", "2", "--interval", "0.1", "--window", "10m"], in: dir)
        #expect(top.status == 0, "\(top)")
        #expect(top.stdout.components(separatedBy: "surety top · ").count - 1 == 2, "two frames:\n\(top.stdout)")
        #expect(!top.stdout.contains("\u{1B}[2J"), "no screen control codes when standard output is not a terminal")
        for expected in ["0 waiting, 0 running, 3 in the dead-letter inbox", "7 completed", "3 dead", "failure rate 30.0%", "4 retries (3 jobs retried)",
                         "LATENCY", "P50", "P99", "queue wait", "QUEUE", "DEAD (DLQ)", "email", "payments", "demo.payment"] {
            #expect(top.stdout.contains(expected), "missing '\(expected)' in\n\(top.stdout)")
        }
        let emailRow = try #require(top.stdout.split(separator: "\n").first { $0.hasPrefix("demo.email") })
        #expect(emailRow.contains("22.2%") && emailRow.hasSuffix("2"), "demo.email: 2 of 9 failed, 2 in the inbox: \(emailRow)")

        let stats = try await CLI.run(["stats", "--store", url, "--json", "--window", "10m"], in: dir)
        #expect(stats.status == 0, "\(stats)")
        let json = try stats.json()
        let recent = try #require(json["recent"] as? [String: Any])
        #expect(recent["completed"] as? Int == 7 && recent["dead"] as? Int == 3 && recent["retries"] as? Int == 4)
        #expect(recent["failure_rate"] as? Double == 0.3)
        #expect((recent["throughput_per_second"] as? Double ?? 0) > 0)
        #expect((json["dead_letter_by_type"] as? [String: Int]) == ["demo.email": 2, "demo.payment": 1])
        #expect((json["dead_letter_by_queue"] as? [String: Int]) == ["email": 2, "payments": 1])
        #expect(!stats.stdout.contains("sk-live-ROTATED-KEY-42") && !top.stdout.contains("sk-live-ROTATED-KEY-42"))
    }

    @Test("surety worker prunes by the retention policy on start; --no-retention keeps everything")
    func workerRunsRetention() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        let old = Date().addingTimeInterval(-2 * 86_400)
        let oldID = try await Self.seed(store, queue: "unused", state: .completed, finishedAt: old)
        let deadID = try await Self.seed(store, queue: "unused", state: .dead, error: Self.timeout, finishedAt: old)

        let keeping = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--queue", "unused", "--no-retention"], in: dir, name: "keeping")
        defer { keeping.killIfRunning() }
        try await eventually("the worker started") { keeping.stderr.contains("worker started") }
        keeping.send(SIGTERM)
        #expect(try await keeping.waitForExit() == 0)
        #expect(try await store.job(oldID) != nil, "--no-retention prunes nothing")

        let pruning = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--queue", "unused", "--keep-completed", "1d"], in: dir, name: "pruning")
        defer { pruning.killIfRunning() }
        try await eventually("the old completed job is pruned") { try await store.job(oldID) == nil }
        pruning.send(SIGTERM)
        #expect(try await pruning.waitForExit() == 0)
        #expect(try await store.job(deadID)?.state == .dead, "dead jobs are kept 30 days by default")
        #expect(pruning.stderr.contains("retention pass pruned jobs"), "\(pruning.stderr)")
    }

    @Test("the progress bar draws batches in place")
    func progressBar() throws {
        #expect(ProgressBar.render(done: 0, total: 40, label: "requeued") == "[------------------------------] 0/40 requeued")
        #expect(ProgressBar.render(done: 20, total: 40, label: "requeued") == "[###############---------------] 20/40 requeued")
        #expect(ProgressBar.render(done: 40, total: 40, label: "discarded") == "[##############################] 40/40 discarded")
        #expect(try ReleaseRate(parsing: "30/m").perSecond == 0.5)
        #expect(ReleaseRate(perSecond: 4).releaseTime(of: 8, from: Date(timeIntervalSince1970: 0)) == Date(timeIntervalSince1970: 2))
        #expect(throws: (any Error).self) { try ReleaseRate(parsing: "0/s") }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
