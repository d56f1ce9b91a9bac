import Foundation
import Surety

extension StoreConformance {
    /// The "alerts" group: ``AlertObservationsStore`` summaries and ``AlertStateStore``
    /// compare-and-set.
    func alerts(_ store: any OperatedStore, _ check: Check) async throws {
        guard let observing = store as? any AlertObservationsStore & OperatedStore else {
            try check.fail("the store does not summarise jobs for alerts (AlertObservationsStore)")
        }
        guard let states = store as? any AlertStateStore & OperatedStore else {
            try check.fail("the store does not keep alert state (AlertStateStore)")
        }
        let t0 = Fixtures.t0
        let secretPayload = #"{"secret":"s3cr3t-value","to":"a@b.example"}"#
        // email: A fails, retries, dies; B completes; C waits (due since t0-30); D is not due yet.
        let ab = try await store.enqueue([
            Fixtures.job("mail.send", queue: "email", payload: secretPayload, maxAttempts: 2),
            Fixtures.job("mail.send", queue: "email"),
        ]).map(\.id)
        let first = try await Fixtures.claim(store, limit: 2, queues: ["email"])
        guard first.count == 2, let a1 = first.first(where: { $0.id == ab[0] }), let b1 = first.first(where: { $0.id == ab[1] }) else {
            try check.fail("both email jobs are claimable")
        }
        _ = try await store.finish([
            Fixtures.finish(a1, at: t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: t0.addingTimeInterval(5)), error: Fixtures.boom),
            AttemptFinish(lease: b1.lease, attempt: 1, worker: "w1", startedAt: t0, endedAt: t0.addingTimeInterval(2), outcome: .succeeded, next: .completed),
        ])
        let a2 = try await Fixtures.claim(store, at: t0.addingTimeInterval(5), queues: ["email"])
        try check.that(a2.map(\.id) == [ab[0]], "the retry of A is claimed")
        let timeout = AttemptError(type: "Timeout", message: "provider timed out with key s3cr3t-value", errorClass: .transient)
        _ = try await store.finish([Fixtures.finish(a2[0], at: t0.addingTimeInterval(11), outcome: .timedOut, next: .dead(.maxAttempts), error: timeout)])
        let cd = try await store.enqueue([
            Fixtures.job("mail.send", queue: "email", runAt: t0.addingTimeInterval(-30)),
            Fixtures.job("mail.digest", queue: "email", runAt: t0.addingTimeInterval(1000)),
            Fixtures.job("report.build", queue: "reports", runAt: t0.addingTimeInterval(10)),
        ]).map(\.id)

        // Attempt activity.
        let all = try await observing.attemptActivity(since: t0, until: t0.addingTimeInterval(100))
        try check.that(all.count == 1, "activity has one group (mail.send in email), got \(all.map { "\($0.type)/\($0.queue)" })")
        let mail = all.first
        try check.that(mail?.type == "mail.send" && mail?.queue == "email" && mail?.succeeded == 1 && mail?.failed == 2,
                       "activity counts 1 completion and 2 failed attempts, got \(String(describing: mail))")
        try check.that(mail?.firstFailureAt == t0.addingTimeInterval(1), "the first failure is the one that ended first")
        try check.that(mail?.lastFailure?.jobID == ab[0] && mail?.lastFailure?.at == t0.addingTimeInterval(11) && mail?.lastFailure?.error == timeout,
                       "the last failure is the newest one, with its error, got \(String(describing: mail?.lastFailure))")
        try check.that(mail?.lastFailure?.payload == secretPayload, "the last failure carries the job's payload (for scrubbing)")
        let late = try await observing.attemptActivity(since: t0.addingTimeInterval(5), until: t0.addingTimeInterval(100))
        try check.that(late.count == 1 && late[0].failed == 1 && late[0].succeeded == 0, "only attempts that ended in the window count, got \(late)")
        let bounded = try await observing.attemptActivity(since: t0, until: t0.addingTimeInterval(1.5))
        try check.that(bounded.count == 1 && bounded[0].failed == 1 && bounded[0].succeeded == 0, "attempts that ended after the window's end do not count, got \(bounded)")
        let none = try await observing.attemptActivity(since: t0.addingTimeInterval(50), until: t0.addingTimeInterval(100))
        try check.that(none.isEmpty, "an empty window has no activity, got \(none)")

        // The dead-letter inbox.
        let dead = try await observing.deadLetterSummary(since: t0)
        try check.that(dead.count == 1 && dead[0].type == "mail.send" && dead[0].queue == "email" && dead[0].count == 1 && dead[0].arrivedSince == 1,
                       "the inbox holds one mail.send job that arrived in the window, got \(dead)")
        try check.that(dead.first?.newest.jobID == ab[0] && dead.first?.newest.error == timeout && dead.first?.newest.at == t0.addingTimeInterval(11),
                       "the newest dead job comes with its last error and when it died")
        try check.that(dead.first?.firstFailureAt == t0, "failures began at the dead job's first attempt, got \(String(describing: dead.first?.firstFailureAt))")
        let deadLater = try await observing.deadLetterSummary(since: t0.addingTimeInterval(12))
        try check.that(deadLater.first?.count == 1 && deadLater.first?.arrivedSince == 0, "arrivals are counted from the window's start, got \(deadLater)")

        // Waiting work.
        let waiting = try await observing.waitingWork(now: t0.addingTimeInterval(50))
        try check.that(waiting.map(\.queue) == ["email", "reports"], "due work waits in email and reports, got \(waiting.map(\.queue))")
        try check.that(waiting.first?.count == 1 && waiting.first?.oldestRunAt == t0.addingTimeInterval(-30) && waiting.first?.oldestType == "mail.send",
                       "the oldest due email job is C, got \(String(describing: waiting.first))")
        try check.that(waiting.last?.count == 1 && waiting.last?.oldestType == "report.build", "the due report counts")
        let early = try await observing.waitingWork(now: t0)
        try check.that(early.map(\.queue) == ["email"], "a job not yet due does not wait, got \(early.map(\.queue))")
        _ = cd

        // Alert state: compare-and-set.
        let initial = try await states.alertStates()
        try check.that(initial.isEmpty, "a fresh store has no alert states")
        let record = AlertStateRecord(key: "dead-letter/mail.send", status: "firing", version: 1, updatedAt: t0, body: #"{"a":1}"#)
        let created = try await states.saveAlertState(record, expectedVersion: nil)
        try check.that(created, "a new key is created when none is expected")
        let again = try await states.saveAlertState(record, expectedVersion: nil)
        try check.that(!again, "creating an existing key is refused")
        var next = record
        next.version = 2
        next.status = "resolved"
        next.updatedAt = t0.addingTimeInterval(60)
        next.body = #"{"a":2}"#
        let stale = try await states.saveAlertState(next, expectedVersion: 7)
        try check.that(!stale, "a write that expects another version is refused")
        let updated = try await states.saveAlertState(next, expectedVersion: 1)
        try check.that(updated, "a write that expects the stored version succeeds")
        let other = AlertStateRecord(key: "queue-latency/email", status: "firing", version: 1, updatedAt: t0, body: "{}")
        _ = try await states.saveAlertState(other, expectedVersion: nil)
        let loaded = try await states.alertStates()
        try check.that(loaded == [next, other], "states load in key order with every field, got \(loaded)")

        // Racing writers: exactly one wins.
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<10 {
                var racing = next
                racing.version = 3
                racing.body = #"{"writer":\#(index)}"#
                group.addTask { try await states.saveAlertState(racing, expectedVersion: 2) }
            }
            var wins = 0
            for try await won in group where won { wins += 1 }
            return wins
        }
        try check.that(wins == 1, "of 10 racing writers of one version exactly one wins, got \(wins)")

        let kept = try await states.deleteAlertStates([next.key, other.key], updatedBefore: t0)
        try check.that(kept == 0, "states updated at or after the cut-off are kept")
        let removed = try await states.deleteAlertStates([next.key], updatedBefore: t0.addingTimeInterval(61))
        try check.that(removed == 1, "an old state is removed, got \(removed)")
        let left = try await states.alertStates()
        try check.that(left.map(\.key) == [other.key], "only the other state is left")
    }
}
