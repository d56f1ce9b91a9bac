import Foundation
import Surety

/// One suite every store passes: the memory store, SQLite, PostgreSQL, or your own.
///
/// ```swift
/// @Test func conformance() async throws {
///     try await StoreConformance { try await MyStore.fresh() }.run()
/// }
/// ```
///
/// Each group runs on a fresh store from the factory (which must return a migrated, empty store).
/// A failure throws ``ConformanceFailure`` naming the group and the check.
public struct StoreConformance: Sendable {
    public typealias Factory = @Sendable () async throws -> any JobStore

    /// The groups of checks, runnable one at a time.
    public enum Group: String, CaseIterable, Sendable {
        case enqueueAndUniqueKeys = "enqueue and unique keys"
        case claimAndLease = "claim and lease"
        case heartbeatAndRescue = "heartbeat and rescue"
        case fencing = "fencing by lease token"
        case retryAndDeadLetter = "retry and dead-letter"
        case requeueAndAudit = "requeue and audit"
        case tenancy = "tenancy"
        case cancellation = "cancellation"
        case queries = "queries and filters"
        case concurrencyRaces = "concurrency races"
        case effects = "effect ledger"
        case effectFencing = "effect ledger fencing"
        /// ``EffectLedgerStore/resolveEffect(_:finding:action:)``: an operator's finding about an
        /// in-doubt effect, audited (StoreConformance+EffectResolution.swift).
        case effectResolution = "effect ledger resolution"
        /// ``MaintenanceLeadership``: one body per task at a time, resigning (StoreConformance+Leadership.swift).
        case maintenanceLeadership = "maintenance leadership"
        case alerts = "alerts"
        case concurrencyLimits = "concurrency limits"
        case orderedExecution = "ordered execution"
        case rateLimits = "rate limits"
        case fairness = "fairness"
        case loadShedding = "load shedding"
        case retention = "retention"
        case traceContext = "trace context"
        case deadLetterFilters = "dead-letter filters and staggered release"
        /// ``RunningJobCancellation``: cancel requests for running jobs (StoreConformance+RunningCancellation.swift).
        case runningCancellation = "cancellation of running jobs"
        /// ``ScheduleStore``: stored schedules, pause state, last slots (StoreConformance+Schedules.swift).
        case schedules = "schedules"
        /// ``JobStatisticsStore``: the overview's aggregation (StoreConformance+Statistics.swift).
        case statistics = "statistics"
        /// ``WorkflowStore``: steps released exactly once, fan-in races, failure, compensation,
        /// cancellation (StoreConformance+Workflows.swift).
        case workflows = "workflows"
        /// NUL, control characters, invalid UTF-8 as decoded, 1 MB values and other hostile text in
        /// every string a store takes: refused with a clear error or kept byte for byte
        /// (StoreConformance+HostileInput.swift).
        case hostileInput = "hostile input"
    }

    let makeStore: Factory

    public init(makeStore: @escaping Factory) { self.makeStore = makeStore }

    /// Runs the given groups (default: all), each on a fresh store.
    public func run(_ groups: [Group] = Group.allCases) async throws {
        for group in groups { try await run(group) }
    }

    /// Runs one group on a fresh store.
    public func run(_ group: Group) async throws {
        let store = try await makeStore()
        let check = Check(group: group)
        switch group {
        case .enqueueAndUniqueKeys: try await enqueueAndUniqueKeys(store, check)
        case .claimAndLease: try await claimAndLease(store, check)
        case .heartbeatAndRescue: try await heartbeatAndRescue(store, check)
        case .fencing: try await fencing(store, check)
        case .retryAndDeadLetter: try await retryAndDeadLetter(store, check)
        case .requeueAndAudit: try await requeueAndAudit(store, check)
        case .tenancy: try await tenancy(store, check)
        case .cancellation: try await cancellation(store, check)
        case .queries: try await queries(store, check)
        case .concurrencyRaces: try await concurrencyRaces(store, check)
        case .effects: try await effects(store, check)
        case .effectFencing: try await effectFencing(store, check)
        case .effectResolution: try await effectResolution(store, check)
        case .maintenanceLeadership: try await maintenanceLeadership(store, check)
        case .alerts: try await alerts(store, check)
        case .concurrencyLimits: try await concurrencyLimits(store, check)
        case .orderedExecution: try await orderedExecution(store, check)
        case .rateLimits: try await rateLimits(store, check)
        case .fairness: try await fairness(store, check)
        case .loadShedding: try await loadShedding(store, check)
        case .retention: try await retention(store, check)
        case .traceContext: try await traceContext(store, check)
        case .deadLetterFilters: try await deadLetterFilters(store, check)
        case .runningCancellation: try await runningCancellation(store, check)
        case .schedules: try await schedules(store, check)
        case .statistics: try await statistics(store, check)
        case .workflows: try await workflows(store, check)
        case .hostileInput: try await hostileInput(store, check)
        }
    }

    // MARK: Fixtures

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let acme = try! TenantID("acme")
    static let globex = try! TenantID("globex")

    static func job(
        _ type: String = "test.job", queue: String = "default", priority: Int = 0, tenant: TenantID = acme,
        payload: String = "{}", runAt: Date = t0, maxAttempts: Int = 3, key: String? = nil,
        scope: UniqueScope = .whileActive, tags: [String] = [], correlation: [String: String] = [:], partition: String? = nil
    ) -> NewJob {
        NewJob(
            type: type, queue: queue, priority: priority, tenant: tenant, payload: payload, runAt: runAt,
            enqueuedAt: t0, maxAttempts: maxAttempts, uniqueKey: key, uniqueScope: scope, tags: tags, correlation: correlation,
            partitionKey: partition
        )
    }

    static func claim(_ store: any JobStore, at now: Date = t0, limit: Int = 10, queues: [String] = ["default"], worker: String = "w1", lease: TimeInterval = 30) async throws -> [ClaimedJob] {
        try await store.claim(ClaimRequest(queues: queues, limit: limit, worker: worker, now: now, leaseUntil: now.addingTimeInterval(lease)))
    }

    static func finish(_ job: ClaimedJob, at: Date, outcome: AttemptOutcome, next: NextState, error: AttemptError? = nil, worker: String = "w1", onlyIfExpiredBy: Date? = nil) -> AttemptFinish {
        AttemptFinish(lease: job.lease, attempt: job.attempt, worker: worker, startedAt: t0, endedAt: at, outcome: outcome, error: error, next: next, onlyIfLeaseExpiredBy: onlyIfExpiredBy)
    }

    static let boom = AttemptError(type: "Boom", message: "provider said 502", errorClass: .transient)

    static func operatorAction(_ reason: String = "fixed the provider key", at: Date = t0.addingTimeInterval(100)) -> OperatorAction {
        try! OperatorAction(actor: "ops@example.com", reason: reason, at: at)
    }

    // MARK: Groups

    private func enqueueAndUniqueKeys(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let results = try await store.enqueue([Self.job(), Self.job(runAt: now.addingTimeInterval(60))])
        try check.that(results.count == 2 && results.allSatisfy(\.inserted), "enqueue of two jobs inserts both")
        try check.that(results[0].id != results[1].id, "jobs get distinct ids")
        let first = try await store.job(results[0].id)
        let delayed = try await store.job(results[1].id)
        try check.that(first?.state == .available, "a job due now starts available, got \(String(describing: first?.state))")
        try check.that(delayed?.state == .scheduled, "a job due later starts scheduled, got \(String(describing: delayed?.state))")
        try check.that(first?.attempt == 0 && first?.maxAttempts == 3, "a new job has no attempts and keeps max attempts")

        let keyed = try await store.enqueue([Self.job(key: "order-1")])[0]
        let again = try await store.enqueue([Self.job(payload: #"{"other":true}"#, key: "order-1")])[0]
        try check.that(keyed.inserted && !again.inserted && again.id == keyed.id, "a held unique key returns the existing job")
        let inBatch = try await store.enqueue([Self.job(key: "order-2"), Self.job(key: "order-2")])
        try check.that(inBatch[0].inserted && !inBatch[1].inserted && inBatch[0].id == inBatch[1].id, "a duplicate key inside one batch is deduplicated")

        // whileActive: the key frees when the job completes.
        let claimed = try await Self.claim(store, limit: 100)
        guard let keyedClaim = claimed.first(where: { $0.id == keyed.id }) else { try check.fail("the keyed job was claimable") }
        _ = try await store.finish([Self.finish(keyedClaim, at: now.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        let afterCompletion = try await store.enqueue([Self.job(key: "order-1")])[0]
        try check.that(afterCompletion.inserted && afterCompletion.id != keyed.id, "a whileActive key is free again after completion")

        // forever: the key stays held after completion.
        let forever = try await store.enqueue([Self.job(queue: "forever", key: "once", scope: .forever)])[0]
        let foreverClaim = try await Self.claim(store, queues: ["forever"])
        try check.that(foreverClaim.count == 1, "the forever-keyed job is claimable")
        _ = try await store.finish([Self.finish(foreverClaim[0], at: now.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        let foreverAgain = try await store.enqueue([Self.job(queue: "forever", key: "once", scope: .forever)])[0]
        try check.that(!foreverAgain.inserted && foreverAgain.id == forever.id, "a forever key still holds after completion")

        // tags and correlation round-trip
        let tagged = try await store.enqueue([Self.job(queue: "tagged", tags: ["import", "csv"], correlation: ["order_id": "o-9", "user_id": "u-1"])])[0]
        let record = try await store.job(tagged.id)
        try check.that(record?.tags == ["import", "csv"], "tags are stored in order")
        try check.that(record?.correlation == ["order_id": "o-9", "user_id": "u-1"], "correlation ids are stored")
    }

    private func claimAndLease(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let ids = try await store.enqueue([
            Self.job(priority: 5, runAt: now.addingTimeInterval(-30)),
            Self.job(priority: 0, runAt: now.addingTimeInterval(-10)),
            Self.job(priority: 0, runAt: now.addingTimeInterval(-20)),
            Self.job(priority: 0, runAt: now.addingTimeInterval(600)),
            Self.job(queue: "other", priority: 0, runAt: now.addingTimeInterval(-40)),
        ]).map(\.id)
        let batch = try await Self.claim(store, limit: 2)
        try check.that(batch.map(\.id) == [ids[2], ids[1]], "claim takes priority first, then run_at: expected \([ids[2], ids[1]]), got \(batch.map(\.id))")
        try check.that(batch.allSatisfy { $0.attempt == 1 && $0.lease.token > 0 }, "a claim starts attempt 1 with a positive lease token")
        try check.that(Set(batch.map(\.lease.token)).count == 2, "each claimed job gets its own lease token")
        let running = try await store.job(ids[2])
        try check.that(running?.state == .running && running?.attemptedBy == "w1" && running?.leaseUntil == now.addingTimeInterval(30), "a claimed job is running, owned, leased until the requested time")
        try check.that(running?.firstAttemptAt == now, "the first claim records the first attempt time")
        let rest = try await Self.claim(store, limit: 10, worker: "w2")
        try check.that(rest.map(\.id) == [ids[0]], "a second claim gets only the remaining due job in its queues, got \(rest.map(\.id))")
        let none = try await Self.claim(store, limit: 10)
        try check.that(none.isEmpty, "nothing is claimable twice and a future job is not due")
        let later = try await Self.claim(store, at: now.addingTimeInterval(601), limit: 10)
        try check.that(later.map(\.id) == [ids[3]], "a scheduled job becomes claimable at its run_at")
        let other = try await Self.claim(store, queues: ["other", "default"])
        try check.that(other.map(\.id) == [ids[4]], "claims honour the queue list")
        // Across several queues the order is still priority, then run_at, over all of them.
        let mixed = try await store.enqueue([
            Self.job(queue: "a", priority: 1, runAt: now.addingTimeInterval(-5)),
            Self.job(queue: "b", priority: 0, runAt: now.addingTimeInterval(-1)),
            Self.job(queue: "a", priority: 0, runAt: now.addingTimeInterval(-3)),
            Self.job(queue: "b", priority: 1, runAt: now.addingTimeInterval(-9)),
        ]).map(\.id)
        let across = try await Self.claim(store, limit: 3, queues: ["a", "b"])
        try check.that(across.map(\.id) == [mixed[2], mixed[1], mixed[3]], "a claim over several queues takes priority first, then run_at, across them: expected \([mixed[2], mixed[1], mixed[3]]), got \(across.map(\.id))")
        let attempts = try await store.attempts(of: ids[2])
        try check.that(attempts.count == 1 && attempts[0].outcome == nil && attempts[0].worker == "w1", "a running attempt shows in the history from the job row")
    }

    private func heartbeatAndRescue(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let id = try await store.enqueue([Self.job()])[0].id
        let job = try await Self.claim(store)[0]
        let lost = try await store.heartbeat([job.lease], until: now.addingTimeInterval(60))
        try check.that(lost.isEmpty, "a held lease heartbeats")
        let extended = try await store.job(id)
        try check.that(extended?.leaseUntil == now.addingTimeInterval(60), "a heartbeat extends lease_until")
        let early = try await store.expiredLeases(now: now.addingTimeInterval(59), limit: 10)
        try check.that(early.isEmpty, "an unexpired lease is not rescued")
        let expired = try await store.expiredLeases(now: now.addingTimeInterval(61), limit: 10)
        try check.that(expired.count == 1 && expired[0].job.id == id && expired[0].job.lease == job.lease && expired[0].worker == "w1" && expired[0].startedAt == now,
                       "an expired lease is listed with its token, worker and start")
        // A heartbeat that lands after the rescuer read the lease but before it wrote keeps the job.
        _ = try await store.heartbeat([job.lease], until: now.addingTimeInterval(120))
        let refused = try await store.finish([Self.finish(job, at: now.addingTimeInterval(61), outcome: .lost, next: .retry(at: now.addingTimeInterval(70)), error: Self.boom, onlyIfExpiredBy: now.addingTimeInterval(61))])
        try check.that(refused == [.leaseLost], "a rescue is refused when the worker heartbeated meanwhile")
        let rescue = try await store.finish([Self.finish(job, at: now.addingTimeInterval(121), outcome: .lost, next: .retry(at: now.addingTimeInterval(130)), error: Self.boom, onlyIfExpiredBy: now.addingTimeInterval(121))])
        try check.that(rescue == [.applied], "a rescue applies once the lease expired")
        let record = try await store.job(id)
        try check.that(record?.state == .retrying && record?.runAt == now.addingTimeInterval(130) && record?.leaseUntil == nil, "a rescued job waits for its retry")
        let history = try await store.attempts(of: id)
        try check.that(history.count == 1 && history[0].outcome == .lost && history[0].worker == "w1", "the lost attempt is in the history")
        let afterLoss = try await store.heartbeat([job.lease], until: now.addingTimeInterval(200))
        try check.that(afterLoss == [job.lease], "the old lease is reported lost to its worker")
        let again = try await Self.claim(store, at: now.addingTimeInterval(130), worker: "w2")
        try check.that(again.count == 1 && again[0].attempt == 2 && again[0].lease.token != job.lease.token, "the retry is attempt 2 with a new token")
        try check.that(again.first?.firstAttemptAt == now, "the first attempt time is kept across attempts")
    }

    private func fencing(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let id = try await store.enqueue([Self.job()])[0].id
        let stale = try await Self.claim(store, worker: "paused")[0]
        // The paused worker's lease expires; the rescuer takes the job back; another worker completes it.
        _ = try await store.finish([Self.finish(stale, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Self.boom, worker: "paused", onlyIfExpiredBy: now.addingTimeInterval(31))])
        let fresh = try await Self.claim(store, at: now.addingTimeInterval(31), worker: "healthy")[0]
        let done = try await store.finish([Self.finish(fresh, at: now.addingTimeInterval(32), outcome: .succeeded, next: .completed, worker: "healthy")])
        try check.that(done == [.applied], "the current lease holder completes")
        // The paused worker wakes and reports: every write is refused and changes nothing.
        let before = try await store.job(id)
        let late = try await store.finish([Self.finish(stale, at: now.addingTimeInterval(40), outcome: .failed, next: .dead(.permanentError), error: Self.boom, worker: "paused")])
        try check.that(late == [.leaseLost], "a late finish with an old token is refused")
        let beat = try await store.heartbeat([stale.lease], until: now.addingTimeInterval(100))
        try check.that(beat == [stale.lease], "a heartbeat with an old token is refused")
        let after = try await store.job(id)
        try check.that(before == after && after?.state == .completed, "refused writes change nothing")
        let history = try await store.attempts(of: id)
        try check.that(history.map(\.outcome) == [.lost, .succeeded], "history shows the lost and the successful attempt only, got \(history.map(\.outcome))")
        // A batch mixing a valid and a stale finish applies only the valid one.
        let ids = try await store.enqueue([Self.job(), Self.job()]).map(\.id)
        let pair = try await Self.claim(store, at: now.addingTimeInterval(50), limit: 2)
        var forged = pair[1]
        forged.lease.token &+= 1
        let mixed = try await store.finish([
            Self.finish(pair[0], at: now.addingTimeInterval(51), outcome: .succeeded, next: .completed),
            Self.finish(forged, at: now.addingTimeInterval(51), outcome: .succeeded, next: .completed),
        ])
        try check.that(mixed == [.applied, .leaseLost], "each finish in a batch is fenced on its own, got \(mixed)")
        let second = try await store.job(pair[1].id)
        try check.that(ids.contains(pair[1].id) && second?.state == .running, "the forged finish left its job running")
    }

    private func retryAndDeadLetter(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let id = try await store.enqueue([Self.job(maxAttempts: 2)])[0].id
        let first = try await Self.claim(store)[0]
        let retry = try await store.finish([Self.finish(first, at: now.addingTimeInterval(1), outcome: .failed, next: .retry(at: now.addingTimeInterval(10)), error: Self.boom)])
        try check.that(retry == [.applied], "a retry is recorded")
        var record = try await store.job(id)
        try check.that(record?.state == .retrying && record?.lastError == Self.boom && record?.attempt == 1, "a failed attempt leaves the job retrying with its error")
        let tooEarly = try await Self.claim(store, at: now.addingTimeInterval(9))
        try check.that(tooEarly.isEmpty, "a retry waits for its backoff")
        let second = try await Self.claim(store, at: now.addingTimeInterval(10))
        try check.that(second.count == 1 && second[0].attempt == 2, "the retry runs as attempt 2")
        let timeout = AttemptError(type: "Timeout", message: "attempt exceeded its timeout", errorClass: .transient)
        _ = try await store.finish([Self.finish(second[0], at: now.addingTimeInterval(11), outcome: .timedOut, next: .dead(.maxAttempts), error: timeout)])
        record = try await store.job(id)
        try check.that(record?.state == .dead && record?.deadReason == .maxAttempts && record?.finishedAt == now.addingTimeInterval(11), "an exhausted job is dead with its reason")
        let history = try await store.attempts(of: id)
        try check.that(history.map(\.attempt) == [1, 2] && history.map(\.outcome) == [.failed, .timedOut], "every failed attempt is in the history, got \(history.map(\.outcome))")
        try check.that(history[0].error == Self.boom && history[1].error == timeout && history[0].endedAt == now.addingTimeInterval(1), "history keeps each attempt's error and end")
        let dead = try await store.jobs(JobFilter(states: [.dead]))
        try check.that(dead.map(\.id) == [id], "the dead-letter inbox lists the job")

        // Snooze: no attempt used.
        let snoozeID = try await store.enqueue([Self.job(queue: "snooze")])[0].id
        let snoozing = try await Self.claim(store, queues: ["snooze"])[0]
        _ = try await store.finish([Self.finish(snoozing, at: now.addingTimeInterval(1), outcome: .snoozed, next: .reschedule(at: now.addingTimeInterval(60)))])
        let snoozed = try await store.job(snoozeID)
        try check.that(snoozed?.state == .scheduled && snoozed?.attempt == 0 && snoozed?.runAt == now.addingTimeInterval(60), "a snooze reschedules without using an attempt")
        let resumed = try await Self.claim(store, at: now.addingTimeInterval(60), queues: ["snooze"])
        try check.that(resumed.first?.attempt == 1, "the attempt after a snooze is numbered as if the snooze never happened")

        // Permanent failure goes straight to dead; cancellation while running is terminal.
        let permanentID = try await store.enqueue([Self.job(queue: "perm", maxAttempts: 10)])[0].id
        let permanent = try await Self.claim(store, queues: ["perm"])[0]
        let declined = AttemptError(type: "PermanentFailure", message: "card declined", errorClass: .permanent)
        _ = try await store.finish([Self.finish(permanent, at: now.addingTimeInterval(2), outcome: .failed, next: .dead(.permanentError), error: declined)])
        let permanentRecord = try await store.job(permanentID)
        try check.that(permanentRecord?.state == .dead && permanentRecord?.deadReason == .permanentError && permanentRecord?.lastError?.errorClass == .permanent, "a permanent failure is dead at once")

        // A successful attempt after failures: the history ends with it, read from the job row.
        let okID = try await store.enqueue([Self.job(queue: "ok")])[0].id
        let failing = try await Self.claim(store, queues: ["ok"])[0]
        _ = try await store.finish([Self.finish(failing, at: now.addingTimeInterval(1), outcome: .failed, next: .retry(at: now.addingTimeInterval(2)), error: Self.boom)])
        let passing = try await Self.claim(store, at: now.addingTimeInterval(2), queues: ["ok"])[0]
        _ = try await store.finish([AttemptFinish(lease: passing.lease, attempt: 2, worker: "w1", startedAt: now.addingTimeInterval(2), endedAt: now.addingTimeInterval(3), outcome: .succeeded, next: .completed)])
        let okHistory = try await store.attempts(of: okID)
        try check.that(okHistory.map(\.outcome) == [.failed, .succeeded] && okHistory.last?.startedAt == now.addingTimeInterval(2) && okHistory.last?.endedAt == now.addingTimeInterval(3),
                       "a success after a failure closes the history, got \(okHistory.map(\.outcome))")
    }

    private func requeueAndAudit(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let ids = try await store.enqueue([Self.job(maxAttempts: 1, key: "k1"), Self.job(maxAttempts: 1), Self.job()]).map(\.id)
        let claimed = try await Self.claim(store, limit: 2)
        _ = try await store.finish(claimed.map { Self.finish($0, at: now.addingTimeInterval(1), outcome: .failed, next: .dead(.maxAttempts), error: Self.boom) })
        let action = Self.operatorAction()
        let result = try await store.requeue([ids[0], ids[2], JobID(999_999)], action: action)
        try check.that(result.changed == [ids[0]], "only dead or cancelled jobs are requeued, changed \(result.changed)")
        try check.that(Set(result.skipped.map(\.id)) == [ids[2], JobID(999_999)], "running/waiting and missing jobs are skipped with a reason")
        let requeued = try await store.job(ids[0])
        try check.that(requeued?.state == .available && requeued?.attempt == 0 && requeued?.runAt == action.at && requeued?.deadReason == nil, "a requeued job is available now with its attempts reset")
        let audit = try await store.audit(of: ids[0])
        try check.that(audit.count == 1 && audit[0].action == "requeue" && audit[0].actor == "ops@example.com" && audit[0].reason == action.reason && audit[0].at == action.at,
                       "the requeue is audited with who, why and when")
        let history = try await store.attempts(of: ids[0])
        try check.that(history.first?.outcome == .failed, "the history before the requeue is kept")
        let duplicate = try await store.enqueue([Self.job(key: "k1")])[0]
        try check.that(!duplicate.inserted && duplicate.id == ids[0], "a requeued job takes its unique key back")

        let discard = try await store.discard([ids[1], ids[0]], action: Self.operatorAction("customer closed the account"))
        try check.that(discard.changed == [ids[1]] && discard.skipped.map(\.id) == [ids[0]], "only dead jobs are discarded")
        let discarded = try await store.job(ids[1])
        try check.that(discarded?.state == .cancelled && (discarded?.note ?? "").contains("customer closed the account"), "a discarded job is cancelled with a won't-retry note")
        let discardAudit = try await store.audit(of: ids[1])
        try check.that(discardAudit.map(\.action) == ["discard"], "the discard is audited")

        // A requeue whose key a newer job holds is skipped.
        let keyed = try await store.enqueue([Self.job(queue: "keys", maxAttempts: 1, key: "k2")])[0].id
        let keyedClaim = try await Self.claim(store, queues: ["keys"])[0]
        _ = try await store.finish([Self.finish(keyedClaim, at: now.addingTimeInterval(1), outcome: .failed, next: .dead(.maxAttempts), error: Self.boom)])
        let newer = try await store.enqueue([Self.job(queue: "keys", key: "k2")])[0]
        try check.that(newer.inserted, "a dead job frees a whileActive key")
        let conflict = try await store.requeue([keyed], action: Self.operatorAction())
        try check.that(conflict.changed.isEmpty && conflict.skipped.first?.reason.contains("\(newer.id)") == true, "a requeue is skipped while a newer job holds the key, naming it")
    }

    private func tenancy(_ store: any JobStore, _ check: Check) async throws {
        let a = try await store.enqueue([Self.job(tenant: Self.acme, key: "welcome")])[0]
        let b = try await store.enqueue([Self.job(tenant: Self.globex, key: "welcome")])[0]
        try check.that(a.inserted && b.inserted && a.id != b.id, "unique keys are scoped by tenant")
        let system = try await store.enqueue([Self.job(tenant: .system)])[0]
        let claimed = try await Self.claim(store, limit: 10)
        let tenants = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0.tenant) })
        try check.that(tenants[a.id] == Self.acme && tenants[b.id] == Self.globex && tenants[system.id] == .system, "each claim carries the job's stored tenant")
        // The tenant survives a retry: it is read from the row again.
        let job = claimed.first { $0.id == b.id }!
        _ = try await store.finish([Self.finish(job, at: Self.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: Self.t0.addingTimeInterval(2)), error: Self.boom)])
        let retried = try await Self.claim(store, at: Self.t0.addingTimeInterval(2))
        try check.that(retried.count == 1 && retried[0].tenant == Self.globex, "a retry carries the same tenant")
        let filtered = try await store.jobs(JobFilter(tenants: [Self.acme]))
        try check.that(filtered.map(\.id) == [a.id], "jobs can be filtered by tenant")
    }

    private func cancellation(_ store: any JobStore, _ check: Check) async throws {
        let now = Self.t0
        let ids = try await store.enqueue([Self.job(runAt: now.addingTimeInterval(3600), key: "c1"), Self.job()]).map(\.id)
        let running = try await Self.claim(store)
        try check.that(running.map(\.id) == [ids[1]], "only the due job is claimed")
        let result = try await store.cancel(ids, action: Self.operatorAction("customer asked"))
        try check.that(result.changed == [ids[0]] && result.skipped.map(\.id) == [ids[1]], "a scheduled job is cancelled; a running one is skipped")
        let cancelled = try await store.job(ids[0])
        try check.that(cancelled?.state == .cancelled && cancelled?.finishedAt == now.addingTimeInterval(100), "a cancelled job is terminal")
        let none = try await Self.claim(store, at: now.addingTimeInterval(7200))
        try check.that(none.isEmpty, "a cancelled job is never claimed")
        let reuse = try await store.enqueue([Self.job(key: "c1")])[0]
        try check.that(reuse.inserted, "cancelling frees a whileActive key")
        let audit = try await store.audit(of: ids[0])
        try check.that(audit.map(\.action) == ["cancel"], "the cancel is audited")
        _ = try await store.finish([Self.finish(running[0], at: now.addingTimeInterval(1), outcome: .cancelled, next: .cancelled)])
        let stopped = try await store.job(ids[1])
        try check.that(stopped?.state == .cancelled, "a running job that was cancelled ends cancelled")
    }

    private func queries(_ store: any JobStore, _ check: Check) async throws {
        let ids = try await store.enqueue([
            Self.job("mail.send", queue: "mail", tags: ["welcome"], correlation: ["user_id": "u1"]),
            Self.job("mail.send", queue: "mail", tags: ["digest"], correlation: ["user_id": "u2"]),
            Self.job("billing.charge", queue: "billing", correlation: ["user_id": "u1", "order_id": "o1"]),
        ]).map(\.id)
        let all = try await store.jobs(JobFilter())
        try check.that(all.map(\.id) == ids.reversed(), "jobs are listed newest first")
        let page = try await store.jobs(JobFilter(beforeID: ids[2], limit: 1))
        try check.that(page.map(\.id) == [ids[1]], "paging by beforeID and limit works")
        let byType = try await store.jobs(JobFilter(types: ["mail.send"]))
        try check.that(byType.count == 2, "filter by type")
        let byQueue = try await store.jobs(JobFilter(queues: ["billing"]))
        try check.that(byQueue.map(\.id) == [ids[2]], "filter by queue")
        let byTag = try await store.jobs(JobFilter(tag: "digest"))
        try check.that(byTag.map(\.id) == [ids[1]], "filter by tag")
        let byCorrelation = try await store.jobs(JobFilter(correlation: ["user_id": "u1"]))
        try check.that(byCorrelation.map(\.id) == [ids[2], ids[0]], "filter by correlation id")
        let both = try await store.jobs(JobFilter(correlation: ["user_id": "u1", "order_id": "o1"]))
        try check.that(both.map(\.id) == [ids[2]], "correlation filters combine")
        let counts = try await store.counts()
        let mail = counts.first { $0.queue == "mail" && $0.type == "mail.send" && $0.state == .available }
        try check.that(mail?.count == 2 && counts.reduce(0) { $0 + $1.count } == 3, "counts group by queue, type and state")
        let window = try await store.jobs(JobFilter(enqueuedAfter: Self.t0, enqueuedBefore: Self.t0.addingTimeInterval(1)))
        try check.that(window.count == 3, "filter by enqueue time range")
        let missing = try await store.job(JobID(123_456_789))
        try check.that(missing == nil, "a missing job reads as nil")
    }

    private func concurrencyRaces(_ store: any JobStore, _ check: Check) async throws {
        // Many producers racing on one unique key: exactly one job.
        let results = try await withThrowingTaskGroup(of: EnqueuedJob.self) { group in
            for _ in 0..<32 {
                group.addTask { try await store.enqueue([Self.job(key: "race")])[0] }
            }
            var all: [EnqueuedJob] = []
            for try await result in group { all.append(result) }
            return all
        }
        try check.that(results.filter(\.inserted).count == 1 && Set(results.map(\.id)).count == 1, "32 racing enqueues of one key insert one job")

        // Many workers racing to claim: every job claimed exactly once.
        _ = try await store.enqueue((0..<200).map { _ in Self.job(queue: "race") })
        let claims = try await withThrowingTaskGroup(of: [ClaimedJob].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var mine: [ClaimedJob] = []
                    while true {
                        let batch = try await Self.claim(store, limit: 7, queues: ["race"], worker: "w\(worker)")
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }
            }
            var all: [ClaimedJob] = []
            for try await batch in group { all += batch }
            return all
        }
        try check.that(claims.count == 200 && Set(claims.map(\.id)).count == 200, "8 racing workers claim 200 jobs exactly once each, got \(claims.count) claims of \(Set(claims.map(\.id)).count) jobs")
        let finishes = try await withThrowingTaskGroup(of: [FenceResult].self) { group in
            for chunk in stride(from: 0, to: claims.count, by: 25) {
                let slice = Array(claims[chunk..<min(chunk + 25, claims.count)])
                group.addTask { try await store.finish(slice.map { Self.finish($0, at: Self.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed) }) }
            }
            var all: [FenceResult] = []
            for try await results in group { all += results }
            return all
        }
        try check.that(finishes.count == 200 && finishes.allSatisfy { $0 == .applied }, "concurrent batched finishes all apply")
        let completed = try await store.counts().filter { $0.queue == "race" && $0.state == .completed }.reduce(0) { $0 + $1.count }
        try check.that(completed == 200, "all 200 raced jobs are completed")
    }
}

extension StoreConformance {
    fileprivate func effects(_ store: any JobStore, _ check: Check) async throws {
        guard let ledger = store as? any EffectLedgerStore else {
            try check.fail("the store does not provide the effect ledger (EffectLedgerStore)")
        }
        let now = Self.t0
        let id = try await store.enqueue([Self.job()])[0].id
        let first = try await Self.claim(store)[0]
        let key = EffectKey(tenant: Self.acme, jobID: id, name: "charge", key: "order-1")
        let begin = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        try check.that(begin == .started, "the first begin records a started effect, got \(begin)")
        let again = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        guard case .existing(let started) = again else { try check.fail("a second begin returns the existing record, got \(again)") }
        try check.that(started.state == .started && started.attempt == 1 && started.worker == "w1" && started.result == nil, "the started record keeps attempt and worker")

        // The worker dies before confirming; the rescuer takes the job back; attempt 2 sees the doubt.
        _ = try await store.finish([Self.finish(first, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Self.boom, onlyIfExpiredBy: now.addingTimeInterval(31))])
        let stale = try await ledger.beginEffect(EffectKey(tenant: Self.acme, jobID: id, name: "refund"), lease: first.lease, attempt: 1, worker: "w1", now: now.addingTimeInterval(32))
        try check.that(stale == .leaseLost, "a worker that lost its lease starts no new effect")
        let second = try await Self.claim(store, at: now.addingTimeInterval(31))[0]
        let inDoubt = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(32))
        guard case .existing(let doubtful) = inDoubt, doubtful.state == .started, doubtful.attempt == 1 else {
            try check.fail("attempt 2 finds the unconfirmed effect of attempt 1, got \(inDoubt)")
        }
        try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: doubtful.attempt)
        let restarted = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(33))
        try check.that(restarted == .started, "after forgetting an unconfirmed effect, it can start again")
        try await ledger.confirmEffect(key, result: #"{"receipt":"r-1"}"#, now: now.addingTimeInterval(34))
        try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: 2)
        let confirmed = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(35))
        guard case .existing(let record) = confirmed else { try check.fail("a confirmed effect is returned, got \(confirmed)") }
        try check.that(record.state == .confirmed && record.result == #"{"receipt":"r-1"}"# && record.confirmedAt == now.addingTimeInterval(34) && record.attempt == 2 && record.worker == "w2",
                       "a confirmed effect keeps its result and is never forgotten")

        // Keys are scoped by tenant, job, name and caller key.
        let other = try await ledger.beginEffect(EffectKey(tenant: Self.acme, jobID: id, name: "charge", key: "order-2"), lease: second.lease, attempt: 2, worker: "w2", now: now)
        try check.that(other == .started, "another caller key is another effect")
        let listed = try await ledger.effects(of: id)
        try check.that(listed.map(\.key.key) == ["order-1", "order-2"], "the job's effects are listed oldest first, got \(listed.map(\.key.key))")
        let otherJob = try await ledger.effects(of: JobID(987_654))
        try check.that(otherJob.isEmpty, "another job has no effects")

        // Concurrent calls (a store may write them together): for each key exactly one begin
        // starts the effect and the other finds it; a stale lease starts nothing; confirmations
        // of the same effect twice at once both succeed.
        let parcels = (0..<10).map { EffectKey(tenant: Self.acme, jobID: id, name: "ship", key: "parcel-\($0)") }
        let lease = second.lease, staleLease = first.lease
        let begins = try await withThrowingTaskGroup(of: (String, EffectBegin).self) { group in
            for key in parcels + parcels {
                group.addTask { (key.key, try await ledger.beginEffect(key, lease: lease, attempt: 2, worker: "w2", now: now)) }
            }
            for index in 0..<5 {
                let key = EffectKey(tenant: Self.acme, jobID: id, name: "stale", key: "\(index)")
                group.addTask { ("stale", try await ledger.beginEffect(key, lease: staleLease, attempt: 1, worker: "w1", now: now)) }
            }
            var all: [(String, EffectBegin)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        for parcel in parcels {
            let answers = begins.filter { $0.0 == parcel.key }.map(\.1)
            let started = answers.filter { $0 == .started }.count
            let found = answers.filter { if case .existing(let record) = $0 { record.state == .started } else { false } }.count
            try check.that(started == 1 && found == 1, "two concurrent begins of \(parcel.key): one starts it, one finds it, got \(answers)")
        }
        try check.that(begins.filter { $0.0 == "stale" }.allSatisfy { $0.1 == .leaseLost }, "concurrent begins under a lost lease start nothing")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for key in parcels + [parcels[0]] {
                group.addTask { try await ledger.confirmEffect(key, result: #""shipped""#, now: now.addingTimeInterval(40)) }
            }
            try await group.waitForAll()
        }
        let shipped = try await ledger.effects(of: id).filter { $0.key.name == "ship" }
        try check.that(shipped.count == 10 && shipped.allSatisfy { $0.state == .confirmed && $0.result == #""shipped""# },
                       "concurrent confirmations all hold, got \(shipped.map(\.state))")
        let staleRecords = try await ledger.effects(of: id).filter { $0.key.name == "stale" }
        try check.that(staleRecords.isEmpty, "no effect was recorded under the lost lease")
    }
}

extension StoreConformance {
    /// Every ledger write is fenced by the lease (review item 3): a stale attempt neither learns
    /// about an existing record nor forgets the live attempt's `started` record.
    fileprivate func effectFencing(_ store: any JobStore, _ check: Check) async throws {
        guard let ledger = store as? any EffectLedgerStore else {
            try check.fail("the store does not provide the effect ledger (EffectLedgerStore)")
        }
        let now = Self.t0
        let id = try await store.enqueue([Self.job()])[0].id
        let key = EffectKey(tenant: Self.acme, jobID: id, name: "charge", key: "order-9")
        // Attempt 1 starts the effect and dies; attempt 2 finds it in doubt and stalls past its lease.
        let first = try await Self.claim(store)[0]
        _ = try await ledger.beginEffect(key, lease: first.lease, attempt: 1, worker: "w1", now: now)
        _ = try await store.finish([Self.finish(first, at: now.addingTimeInterval(31), outcome: .lost, next: .retry(at: now.addingTimeInterval(31)), error: Self.boom, onlyIfExpiredBy: now.addingTimeInterval(31))])
        let second = try await Self.claim(store, at: now.addingTimeInterval(31))[0]
        _ = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(32))
        _ = try await store.finish([Self.finish(second, at: now.addingTimeInterval(62), outcome: .lost, next: .retry(at: now.addingTimeInterval(62)), error: Self.boom, onlyIfExpiredBy: now.addingTimeInterval(62))])
        // Attempt 3 reconciles "did not happen", forgets attempt 1's record and starts it anew.
        let third = try await Self.claim(store, at: now.addingTimeInterval(62))[0]
        guard case .existing(let seen) = try await ledger.beginEffect(key, lease: third.lease, attempt: 3, worker: "w3", now: now.addingTimeInterval(63)) else {
            try check.fail("attempt 3 finds attempt 1's unconfirmed effect")
        }
        try await ledger.forgetUnconfirmedEffect(key, lease: third.lease, startedAttempt: seen.attempt)
        let restarted = try await ledger.beginEffect(key, lease: third.lease, attempt: 3, worker: "w3", now: now.addingTimeInterval(64))
        try check.that(restarted == .started, "attempt 3 starts the effect, got \(restarted)")
        // The stale attempt 2 wakes up: the ledger tells it nothing, and it cannot forget attempt 3's record.
        let staleBegin = try await ledger.beginEffect(key, lease: second.lease, attempt: 2, worker: "w2", now: now.addingTimeInterval(65))
        try check.that(staleBegin == .leaseLost, "a stale attempt is refused before it learns of an existing record, got \(staleBegin)")
        do {
            try await ledger.forgetUnconfirmedEffect(key, lease: second.lease, startedAttempt: 1)
        } catch let error as SuretyError where error.code == .leaseLost {
            // Refusing with leaseLost is as good as forgetting nothing.
        }
        let records = try await ledger.effects(of: id).filter { $0.key == key }
        try check.that(records.count == 1 && records[0].state == .started && records[0].attempt == 3,
                       "attempt 3's started record survives a stale forget, got \(records.map { ($0.state, $0.attempt) })")
        // Even the live holder forgets only the record it saw.
        try await ledger.forgetUnconfirmedEffect(key, lease: third.lease, startedAttempt: 1)
        let kept = try await ledger.effects(of: id).filter { $0.key == key }
        try check.that(kept.count == 1 && kept[0].attempt == 3, "a forget names the attempt whose record it saw; another attempt's record stays")
    }
}

/// A conformance check that did not hold.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var group: String
    public var check: String
    public var description: String { "store conformance [\(group)]: \(check)" }
}

final class Check: Sendable {
    let group: StoreConformance.Group
    init(group: StoreConformance.Group) { self.group = group }

    func that(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(group: group.rawValue, check: message()) }
    }

    func fail(_ message: String) throws -> Never {
        throw ConformanceFailure(group: group.rawValue, check: message)
    }
}
