import Foundation
import Surety

extension StoreConformance {
    func retryAndDeadLetter(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let id = try await store.enqueue([Fixtures.job(maxAttempts: 2)])[0].id
        let first = try await Fixtures.claim(store)[0]
        let retry = try await store.finish([Fixtures.finish(first, at: now.addingTimeInterval(1), outcome: .failed, next: .retry(at: now.addingTimeInterval(10)), error: Fixtures.boom)])
        try check.that(retry == [.applied], "a retry is recorded")
        var record = try await store.job(id)
        try check.that(record?.state == .retrying && record?.lastError == Fixtures.boom && record?.attempt == 1, "a failed attempt leaves the job retrying with its error")
        let tooEarly = try await Fixtures.claim(store, at: now.addingTimeInterval(9))
        try check.that(tooEarly.isEmpty, "a retry waits for its backoff")
        let second = try await Fixtures.claim(store, at: now.addingTimeInterval(10))
        try check.that(second.count == 1 && second[0].attempt == 2, "the retry runs as attempt 2")
        let timeout = AttemptError(type: "Timeout", message: "attempt exceeded its timeout", errorClass: .transient)
        _ = try await store.finish([Fixtures.finish(second[0], at: now.addingTimeInterval(11), outcome: .timedOut, next: .dead(.maxAttempts), error: timeout)])
        record = try await store.job(id)
        try check.that(record?.state == .dead && record?.deadReason == .maxAttempts && record?.finishedAt == now.addingTimeInterval(11), "an exhausted job is dead with its reason")
        let history = try await store.attempts(of: id)
        try check.that(history.map(\.attempt) == [1, 2] && history.map(\.outcome) == [.failed, .timedOut], "every failed attempt is in the history, got \(history.map(\.outcome))")
        try check.that(history[0].error == Fixtures.boom && history[1].error == timeout && history[0].endedAt == now.addingTimeInterval(1), "history keeps each attempt's error and end")
        let dead = try await store.jobs(JobFilter(states: [.dead]))
        try check.that(dead.map(\.id) == [id], "the dead-letter inbox lists the job")

        // Snooze: no attempt used.
        let snoozeID = try await store.enqueue([Fixtures.job(queue: "snooze")])[0].id
        let snoozing = try await Fixtures.claim(store, queues: ["snooze"])[0]
        _ = try await store.finish([Fixtures.finish(snoozing, at: now.addingTimeInterval(1), outcome: .snoozed, next: .reschedule(at: now.addingTimeInterval(60)))])
        let snoozed = try await store.job(snoozeID)
        try check.that(snoozed?.state == .scheduled && snoozed?.attempt == 0 && snoozed?.runAt == now.addingTimeInterval(60), "a snooze reschedules without using an attempt")
        let resumed = try await Fixtures.claim(store, at: now.addingTimeInterval(60), queues: ["snooze"])
        try check.that(resumed.first?.attempt == 1, "the attempt after a snooze is numbered as if the snooze never happened")

        // Permanent failure goes straight to dead; cancellation while running is terminal.
        let permanentID = try await store.enqueue([Fixtures.job(queue: "perm", maxAttempts: 10)])[0].id
        let permanent = try await Fixtures.claim(store, queues: ["perm"])[0]
        let declined = AttemptError(type: "PermanentFailure", message: "card declined", errorClass: .permanent)
        _ = try await store.finish([Fixtures.finish(permanent, at: now.addingTimeInterval(2), outcome: .failed, next: .dead(.permanentError), error: declined)])
        let permanentRecord = try await store.job(permanentID)
        try check.that(permanentRecord?.state == .dead && permanentRecord?.deadReason == .permanentError && permanentRecord?.lastError?.errorClass == .permanent, "a permanent failure is dead at once")

        // A successful attempt after failures: the history ends with it, read from the job row.
        let okID = try await store.enqueue([Fixtures.job(queue: "ok")])[0].id
        let failing = try await Fixtures.claim(store, queues: ["ok"])[0]
        _ = try await store.finish([Fixtures.finish(failing, at: now.addingTimeInterval(1), outcome: .failed, next: .retry(at: now.addingTimeInterval(2)), error: Fixtures.boom)])
        let passing = try await Fixtures.claim(store, at: now.addingTimeInterval(2), queues: ["ok"])[0]
        _ = try await store.finish([AttemptFinish(lease: passing.lease, attempt: 2, worker: "w1", startedAt: now.addingTimeInterval(2), endedAt: now.addingTimeInterval(3), outcome: .succeeded, next: .completed)])
        let okHistory = try await store.attempts(of: okID)
        try check.that(okHistory.map(\.outcome) == [.failed, .succeeded] && okHistory.last?.startedAt == now.addingTimeInterval(2) && okHistory.last?.endedAt == now.addingTimeInterval(3),
                       "a success after a failure closes the history, got \(okHistory.map(\.outcome))")
    }
}
