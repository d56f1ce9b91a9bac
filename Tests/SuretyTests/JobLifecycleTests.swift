import Foundation
import Surety
import Testing

/// The job state machine checked directly, as tables: every state against every event (applies,
/// or the reason it does not), the transition each event causes, the fences, and the records
/// the transitions make. The stores' agreement with it is the conformance suite's business.
@Suite("Job lifecycle: state × event → transition")
struct JobLifecycleTests {
    static let t0 = Date(timeIntervalSince1970: 1_000_000)
    static let token: Int64 = 7
    static let lease = Lease(jobID: JobID(1), token: token)
    static let boom = AttemptError(type: "Boom", message: "boom", errorClass: .transient)
    static let action = try! OperatorAction(actor: "ops", reason: "why", at: t0)
    static let later = try! OperatorAction(actor: "ops", reason: "why", at: t0, releaseAt: t0.addingTimeInterval(60))

    static func finish(_ outcome: AttemptOutcome, _ next: NextState, error: AttemptError? = nil, expiredBy: Date? = nil, token: Int64 = token) -> AttemptFinish {
        AttemptFinish(
            lease: Lease(jobID: JobID(1), token: token), attempt: 2, worker: "w", startedAt: t0.addingTimeInterval(-5), endedAt: t0,
            outcome: outcome, error: error, next: next, onlyIfLeaseExpiredBy: expiredBy
        )
    }

    /// A job in `state`, as the store would hold it there (a running one leased under ``token``).
    static func job(_ state: JobState, runAt: Date = t0, attempt: Int = 2, leaseUntil: Date? = nil, firstAttemptAt: Date? = t0.addingTimeInterval(-100)) -> JobRecord {
        JobRecord(
            id: JobID(1), type: "t", queue: "q", priority: 0, tenant: .system, state: state, payload: "{}",
            attempt: attempt, maxAttempts: 5, runAt: runAt, enqueuedAt: t0.addingTimeInterval(-200),
            firstAttemptAt: firstAttemptAt, attemptedAt: t0.addingTimeInterval(-5), attemptedBy: "w",
            leaseUntil: leaseUntil ?? (state == .running ? t0.addingTimeInterval(30) : nil),
            lastError: AttemptError(type: "Old", message: "old", errorClass: .transient), note: "old note"
        )
    }

    static func currentToken(_ state: JobState) -> Int64? { state == .running ? token : nil }

    // MARK: Every state × every event

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var event: JobEvent
        /// The states the event applies from; every other state refuses it with `refusal`.
        var from: Set<JobState>
        var refusal: String
        var testDescription: String { name }
    }

    static let waiting: Set<JobState> = [.scheduled, .available, .retrying]

    static let rows: [Row] = [
        Row(name: "claim", event: .claim(worker: "w2", at: t0, leaseUntil: t0.addingTimeInterval(30)), from: waiting, refusal: "only waiting jobs can be claimed"),
        Row(name: "finish: success", event: .finish(finish(.succeeded, .completed)), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "finish: retry", event: .finish(finish(.failed, .retry(at: t0.addingTimeInterval(10)), error: boom)), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "finish: snooze", event: .finish(finish(.snoozed, .reschedule(at: t0.addingTimeInterval(30)))), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "finish: shutdown release", event: .finish(finish(.interrupted, .reschedule(at: t0))), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "finish: dead", event: .finish(finish(.failed, .dead(.permanentError), error: boom)), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "finish: cancelled", event: .finish(finish(.cancelled, .cancelled)), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "rescue (lost, lease expired)", event: .finish(finish(.lost, .retry(at: t0.addingTimeInterval(10)), error: boom, expiredBy: t0.addingTimeInterval(30))), from: [.running], refusal: "only a running job can end an attempt"),
        Row(name: "cancel on request", event: .cancelOnRequest(actor: "ops", reason: "why", at: t0), from: waiting, refusal: "only a job that would run again is cancelled by a request"),
        Row(name: "cancel", event: .cancel(action), from: waiting, refusal: "only waiting jobs can be cancelled"),
        Row(name: "requeue", event: .requeue(action), from: [.dead, .cancelled], refusal: "only dead or cancelled jobs can be requeued"),
        Row(name: "requeue later", event: .requeue(later), from: [.dead, .cancelled], refusal: "only dead or cancelled jobs can be requeued"),
        Row(name: "discard", event: .discard(action), from: [.dead], refusal: "only dead jobs can be discarded"),
    ]

    @Test("each event applies from its states only, and says why not from the others", arguments: rows)
    func appliesFrom(row: Row) {
        for state in JobState.allCases {
            let result = JobLifecycle.apply(row.event, to: Self.job(state), leaseToken: Self.currentToken(state))
            if row.from.contains(state) {
                #expect(throws: Never.self, "\(row.name) from \(state)") { try result.get() }
            } else {
                #expect(result == .failure(JobLifecycle.SkipReason("job is \(state.rawValue); \(row.refusal)")), "\(row.name) from \(state)")
            }
        }
    }

    @Test("every state is covered, and only completed is left by no event")
    func coverage() {
        let left = Set(Self.rows.flatMap(\.from))
        #expect(Set(JobState.allCases).subtracting(left) == [.completed])
    }

    // MARK: The transition each event causes

    @Test("the transition of each event: guard and column assignments", arguments: [
        ("claim", JobTransition(
            requirement: .init(states: JobState.claimable, dueBy: t0, refusal: "only waiting jobs can be claimed"),
            state: .running, attempt: .incremented, attemptedAt: t0, attemptedBy: "w2", firstAttemptAt: .setIfAbsent(t0),
            lease: .granted(until: t0.addingTimeInterval(30))
        )),
        ("finish: success", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .completed, lease: .released, finishedAt: .set(t0)
        )),
        ("finish: retry", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .retrying, runAt: t0.addingTimeInterval(10), lease: .released, lastError: boom, writesHistory: true
        )),
        ("finish: snooze", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .scheduled, runAt: t0.addingTimeInterval(30), attempt: .givenBack, lease: .released, writesHistory: true
        )),
        ("finish: shutdown release", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .available, runAt: t0, attempt: .givenBack, lease: .released, writesHistory: true, isDue: true
        )),
        ("finish: dead", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .dead, lease: .released, finishedAt: .set(t0), deadReason: .set(.permanentError), lastError: boom, writesHistory: true
        )),
        ("finish: cancelled", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, refusal: "only a running job can end an attempt"),
            state: .cancelled, lease: .released, finishedAt: .set(t0), writesHistory: true
        )),
        ("rescue (lost, lease expired)", JobTransition(
            requirement: .init(states: [.running], leaseToken: token, leaseExpiredBy: t0.addingTimeInterval(30), refusal: "only a running job can end an attempt"),
            state: .retrying, runAt: t0.addingTimeInterval(10), lease: .released, lastError: boom, writesHistory: true
        )),
        ("cancel on request", JobTransition(
            requirement: .init(states: JobState.claimable, refusal: "only a job that would run again is cancelled by a request"),
            state: .cancelled, finishedAt: .set(t0), note: .set("cancelled by ops: why")
        )),
        ("cancel", JobTransition(
            requirement: .init(states: JobState.claimable, refusal: "only waiting jobs can be cancelled"),
            state: .cancelled, lease: .released, finishedAt: .set(t0), note: .set("why")
        )),
        ("requeue", JobTransition(
            requirement: .init(states: [.dead, .cancelled], refusal: "only dead or cancelled jobs can be requeued"),
            state: .available, runAt: t0, attempt: .reset, firstAttemptAt: .cleared, lease: .released,
            finishedAt: .cleared, deadReason: .cleared, note: .set("why"), isDue: true
        )),
        ("requeue later", JobTransition(
            requirement: .init(states: [.dead, .cancelled], refusal: "only dead or cancelled jobs can be requeued"),
            state: .scheduled, runAt: t0.addingTimeInterval(60), attempt: .reset, firstAttemptAt: .cleared, lease: .released,
            finishedAt: .cleared, deadReason: .cleared, note: .set("why")
        )),
        ("discard", JobTransition(
            requirement: .init(states: [.dead], refusal: "only dead jobs can be discarded"),
            state: .cancelled, lease: .released, note: .set("won't retry: why")
        )),
    ])
    func transition(name: String, expected: JobTransition) throws {
        let row = try #require(Self.rows.first { $0.name == name })
        #expect(JobLifecycle.transition(for: row.event) == expected)
    }

    @Test("a failed attempt that still completes writes its history row; a success writes none")
    func completedHistory() {
        #expect(!JobLifecycle.transition(for: .finish(Self.finish(.succeeded, .completed))).writesHistory)
        #expect(JobLifecycle.transition(for: .finish(Self.finish(.failed, .completed, error: Self.boom))).writesHistory)
    }

    @Test("only a plain success takes the stores' narrow completion statement")
    func plainCompletion() {
        func plain(_ finish: AttemptFinish) -> Bool { JobLifecycle.transition(for: .finish(finish)).isPlainCompletion }
        #expect(plain(Self.finish(.succeeded, .completed)))
        #expect(!plain(Self.finish(.succeeded, .completed, error: Self.boom)))
        #expect(!plain(Self.finish(.succeeded, .completed, expiredBy: Self.t0)))
        #expect(!plain(Self.finish(.failed, .completed)))
        #expect(!plain(Self.finish(.failed, .retry(at: Self.t0))))
        #expect(!JobLifecycle.transition(for: .cancel(Self.action)).isPlainCompletion)
    }

    // MARK: Guards and fences

    struct Fence: Sendable, CustomTestStringConvertible {
        var name: String
        var event: JobEvent
        var job: JobRecord
        var currentToken: Int64?
        /// `nil` when the event applies.
        var refusal: String?
        var testDescription: String { name }
    }

    static let fences: [Fence] = [
        Fence(name: "a finish under the current token applies", event: .finish(finish(.succeeded, .completed)), job: job(.running), currentToken: token, refusal: nil),
        Fence(name: "a finish under a spent token is refused", event: .finish(finish(.succeeded, .completed, token: 8)), job: job(.running), currentToken: token,
              refusal: "the lease was lost: the job is leased under another token"),
        Fence(name: "a finish of a job whose token was cleared is refused", event: .finish(finish(.succeeded, .completed)), job: job(.running), currentToken: nil,
              refusal: "the lease was lost: the job is leased under another token"),
        Fence(name: "a rescue of a lease expired at the cutoff applies", event: .finish(finish(.lost, .retry(at: t0), expiredBy: t0.addingTimeInterval(30))),
              job: job(.running, leaseUntil: t0.addingTimeInterval(30)), currentToken: token, refusal: nil),
        Fence(name: "a rescue of a lease renewed past the cutoff is refused", event: .finish(finish(.lost, .retry(at: t0), expiredBy: t0.addingTimeInterval(30))),
              job: job(.running, leaseUntil: t0.addingTimeInterval(31)), currentToken: token, refusal: "the lease was renewed: it has not expired"),
        Fence(name: "a rescue under a spent token is refused", event: .finish(finish(.lost, .retry(at: t0), expiredBy: t0.addingTimeInterval(60), token: 8)),
              job: job(.running), currentToken: token, refusal: "the lease was lost: the job is leased under another token"),
        Fence(name: "a claim of a due job applies", event: .claim(worker: "w", at: t0, leaseUntil: t0.addingTimeInterval(30)),
              job: job(.retrying, runAt: t0), currentToken: nil, refusal: nil),
        Fence(name: "a claim of a job not due yet is refused", event: .claim(worker: "w", at: t0, leaseUntil: t0.addingTimeInterval(30)),
              job: job(.scheduled, runAt: t0.addingTimeInterval(1)), currentToken: nil, refusal: "job is not due yet"),
    ]

    @Test("the lease-token, lease-expiry and due fences", arguments: fences)
    func fence(_ fence: Fence) {
        let result = JobLifecycle.apply(fence.event, to: fence.job, leaseToken: fence.currentToken)
        if let refusal = fence.refusal {
            #expect(result == .failure(JobLifecycle.SkipReason(refusal)))
        } else {
            #expect(throws: Never.self) { try result.get() }
        }
    }

    // MARK: The records the transitions make

    @Test("a claim starts an attempt under a new lease; the first attempt's time is kept once set")
    func claimRecord() throws {
        let event = JobEvent.claim(worker: "w2", at: Self.t0, leaseUntil: Self.t0.addingTimeInterval(30))
        let first = try JobLifecycle.apply(event, to: Self.job(.available, attempt: 0, firstAttemptAt: nil)).get()
        #expect(first.state == .running && first.attempt == 1 && first.attemptedBy == "w2" && first.attemptedAt == Self.t0)
        #expect(first.firstAttemptAt == Self.t0 && first.leaseUntil == Self.t0.addingTimeInterval(30))
        let again = try JobLifecycle.apply(event, to: Self.job(.retrying)).get()
        #expect(again.attempt == 3 && again.firstAttemptAt == Self.t0.addingTimeInterval(-100))
        let claimed = ClaimedJob(record: first, leaseToken: 9, now: Self.t0)
        #expect(claimed.lease == Lease(jobID: JobID(1), token: 9) && claimed.attempt == 1 && claimed.leaseUntil == first.leaseUntil)
        #expect(claimed.firstAttemptAt == Self.t0 && claimed.runAt == first.runAt && claimed.payload == "{}")
    }

    @Test("an attempt's end releases the lease, records the error, and gives a snoozed attempt back (never below 0)")
    func finishRecords() throws {
        let running = Self.job(.running)
        let retry = try JobLifecycle.apply(.finish(Self.finish(.failed, .retry(at: Self.t0.addingTimeInterval(10)), error: Self.boom)), to: running, leaseToken: Self.token).get()
        #expect(retry.state == .retrying && retry.runAt == Self.t0.addingTimeInterval(10) && retry.attempt == 2)
        #expect(retry.leaseUntil == nil && retry.lastError == Self.boom && retry.finishedAt == nil)
        let success = try JobLifecycle.apply(.finish(Self.finish(.succeeded, .completed)), to: running, leaseToken: Self.token).get()
        #expect(success.state == .completed && success.finishedAt == Self.t0 && success.lastError == running.lastError)
        let snooze = try JobLifecycle.apply(.finish(Self.finish(.snoozed, .reschedule(at: Self.t0.addingTimeInterval(30)))), to: running, leaseToken: Self.token).get()
        #expect(snooze.state == .scheduled && snooze.attempt == 1)
        let zero = try JobLifecycle.apply(.finish(Self.finish(.interrupted, .reschedule(at: Self.t0))), to: Self.job(.running, attempt: 0), leaseToken: Self.token).get()
        #expect(zero.state == .available && zero.attempt == 0)
        let dead = try JobLifecycle.apply(.finish(Self.finish(.failed, .dead(.maxAttempts), error: Self.boom)), to: running, leaseToken: Self.token).get()
        #expect(dead.state == .dead && dead.deadReason == .maxAttempts && dead.finishedAt == Self.t0)
    }

    @Test("operator actions: requeue starts over, discard keeps the death time, cancel finishes")
    func operatorRecords() throws {
        var deadJob = Self.job(.dead)
        deadJob.deadReason = .maxAttempts
        deadJob.finishedAt = Self.t0.addingTimeInterval(-50)
        let requeued = try JobLifecycle.apply(.requeue(Self.later), to: deadJob).get()
        #expect(requeued.state == .scheduled && requeued.runAt == Self.t0.addingTimeInterval(60) && requeued.attempt == 0)
        #expect(requeued.firstAttemptAt == nil && requeued.deadReason == nil && requeued.finishedAt == nil && requeued.note == "why")
        #expect(requeued.lastError == deadJob.lastError)
        let discarded = try JobLifecycle.apply(.discard(Self.action), to: deadJob).get()
        #expect(discarded.state == .cancelled && discarded.note == "won't retry: why" && discarded.finishedAt == deadJob.finishedAt)
        #expect(discarded.deadReason == .maxAttempts)
        let cancelled = try JobLifecycle.apply(.cancel(Self.action), to: Self.job(.scheduled)).get()
        #expect(cancelled.state == .cancelled && cancelled.finishedAt == Self.t0 && cancelled.note == "why")
        let onRequest = try JobLifecycle.apply(.cancelOnRequest(actor: "ops", reason: "why", at: Self.t0), to: retry(Self.job(.running))).get()
        #expect(onRequest.state == .cancelled && onRequest.note == CancelRequest.note(actor: "ops", reason: "why"))
    }

    private func retry(_ job: JobRecord) throws -> JobRecord {
        try JobLifecycle.apply(.finish(Self.finish(.failed, .retry(at: Self.t0), error: Self.boom)), to: job, leaseToken: Self.token).get()
    }
}
