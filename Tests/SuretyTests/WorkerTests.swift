import Foundation
import Surety
import SuretyTesting
import Testing

@Suite("Worker runtime on the memory store with an injected clock")
struct WorkerTests {
    let acme = try! TenantID("acme")

    @Test("a job runs once, completes, and costs no history row beyond its success")
    func success() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(SucceedingJob(note: "hi"), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed)
        #expect(h.counter.value("succeed:\(id)") == 1)
        let attempts = try await h.store.attempts(of: id)
        #expect(attempts.map(\.outcome) == [.succeeded])
        #expect(attempts.first?.worker == "w1")
    }

    @Test("a transient failure retries after the backoff, measured on the injected clock, then succeeds")
    func transientRetry() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(FlakyJob(failures: 1, apiKey: "k-SECRET-1"), tenant: acme).id
        let start = h.clock.now()
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            let retrying = try #require(try await h.store.job(id))
            #expect(retrying.state == .retrying)
            let delay = retrying.runAt.timeIntervalSince(start)
            #expect(delay >= 8 && delay <= 12, "first retry is 10 s ± 20 %, got \(delay)")
            // Nothing runs before the backoff has passed.
            h.clock.advance(by: .interval(delay - 1))
            #expect(try await h.store.job(id)?.attempt == 1)
            try await h.advance(by: .seconds(1)) { $0.finished(id, attempt: 2) != nil }
            let second = try #require(try await h.store.attempts(of: id).last)
            #expect(second.startedAt >= retrying.runAt, "the retry started no earlier than its run_at")
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed && record.attempt == 2)
        let history = try await h.store.attempts(of: id)
        #expect(history.map(\.outcome) == [.failed, .succeeded])
        let error = try #require(history.first?.error)
        #expect(error.type == "ProviderDown" && error.errorClass == .transient)
        #expect(error.message == "502 bad gateway: rejected key [REDACTED]", "the secret is scrubbed from the recorded message")
    }

    @Test("exhausted attempts land in the dead-letter inbox with every attempt's history")
    func exhaustion() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(FlakyJob(failures: 99, apiKey: "k"), tenant: acme).id
        try await h.running([h.worker()]) {
            for attempt in 1...3 {
                try await h.events.first { $0.finished(id, attempt: attempt) != nil }
                if attempt < 3 {
                    try await h.advance(by: .seconds(5)) { $0.started(id, attempt: attempt + 1) }
                }
            }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .maxAttempts)
        let history = try await h.store.attempts(of: id)
        #expect(history.map(\.attempt) == [1, 2, 3])
        #expect(history.allSatisfy { $0.outcome == .failed && $0.worker == "w1" && $0.endedAt != nil })
    }

    @Test("a permanent failure goes to the inbox at once")
    func permanent() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(DecliningJob(), tenant: acme).id
        try await h.running([h.worker()]) { try await h.events.first { $0.finished(id) != nil } }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .permanentError && record.attempt == 1)
        #expect(record.lastError?.message == "card declined")
    }

    @Test("a snooze runs the job later without using an attempt")
    func snooze() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(SnoozingJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            let first = try await h.events.first { $0.finished(id) != nil }
            #expect(first.finished(id)?.0 == .snoozed)
            let snoozed = try #require(try await h.store.job(id))
            #expect(snoozed.state == .scheduled && snoozed.attempt == 0)
            h.clock.advance(by: .seconds(44))
            #expect(try await h.store.job(id)?.state == .scheduled)
            try await h.advance(by: .seconds(1)) { $0.finished(id)?.0 == .succeeded }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed && record.attempt == 1)
    }

    @Test("an attempt that exceeds its timeout is cancelled and recorded as timed out")
    func timeout() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        try await h.running([h.worker(heartbeat: .seconds(3600))]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            try await h.advance(by: .seconds(19)) { $0.finished(id) != nil }
        }
        let history = try await h.store.attempts(of: id)
        #expect(history.first?.outcome == .timedOut)
        #expect((history.first?.duration ?? 0) >= 20, "the attempt ran its whole timeout on the injected clock")
        #expect(try await h.store.job(id)?.state == .retrying)
    }

    @Test("a payload that no longer decodes is permanent, marked undecodable, not retried forever")
    func undecodablePayload() async throws {
        let h = Harness()
        let id = try await h.store.enqueue([NewJob(
            type: FlakyJob.name, queue: "default", priority: 0, tenant: acme, payload: #"{"failures":"#,
            runAt: h.clock.now(), enqueuedAt: h.clock.now(), maxAttempts: 20
        )])[0].id
        try await h.running([h.worker()]) { try await h.events.first { $0.finished(id) != nil } }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .undecodablePayload && record.attempt == 1)
    }

    @Test("an unknown job type fails transiently and is kept, never dropped")
    func unknownType() async throws {
        let h = Harness()
        let id = try await h.store.enqueue([NewJob(
            type: "renamed.job", queue: "default", priority: 0, tenant: acme, payload: "{}",
            runAt: h.clock.now(), enqueuedAt: h.clock.now(), maxAttempts: 20
        )])[0].id
        try await h.running([h.worker()]) { try await h.events.first { $0.finished(id) != nil } }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .retrying)
        #expect(record.lastError?.type == "SuretyError" && record.lastError?.message.contains("renamed.job") == true)
    }

    @Test("a paused worker's late completion is refused after its job was rescued and completed elsewhere")
    func fencingPausedWorker() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(GatedJob(), tenant: acme).id
        // w1 heartbeats never (interval far beyond the lease): it behaves like a paused process.
        let paused = h.worker(id: "paused", concurrency: 1, lease: .seconds(10), heartbeat: .seconds(100_000))
        try await h.running([paused]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            h.clock.advance(by: .seconds(11))
            // The rescuer finds the expired lease; a healthy worker completes attempt 2.
            let rescued = try await LeaseRescuer.rescueOnce(store: h.store, registry: h.registry, clock: h.clock, logger: .init(label: "test"))
            #expect(rescued == 1)
            let healthy = h.worker(id: "healthy")
            try await h.running([healthy]) {
                try await h.advance(by: .seconds(2)) { $0.finished(id, attempt: 2)?.2 == .applied }
            }
            // The paused worker resumes and reports success for attempt 1: refused.
            h.gate.open()
            let late = try await h.events.first { $0.finished(id, attempt: 1) != nil }
            #expect(late.finished(id, attempt: 1)?.2 == .leaseLost)
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed && record.attemptedBy == "healthy" && record.attempt == 2)
        let history = try await h.store.attempts(of: id)
        #expect(history.map(\.outcome) == [.lost, .succeeded])
        #expect(history.map(\.worker) == ["paused", "healthy"])
        #expect(h.logs.entries.contains { $0.message.contains("late outcome refused") && $0.metadata["worker"] == "paused" && $0.metadata["job_id"] == "\(id)" },
                "the refused late completion is logged")
    }

    @Test("a heartbeat that finds its lease gone cancels the job's task")
    func leaseLostCancelsTask() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        try await h.running([h.worker(lease: .seconds(9), heartbeat: .seconds(3))]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            // Another party takes the job: an operator-visible rescue with the lease expired.
            let expired = try await h.store.expiredLeases(now: h.clock.now().addingTimeInterval(10), limit: 10)
            let finish = AttemptFinish(lease: expired[0].job.lease, attempt: 1, worker: "paused", startedAt: h.clock.now(), endedAt: h.clock.now(), outcome: .lost, next: .retry(at: h.clock.now().addingTimeInterval(3600)), onlyIfLeaseExpiredBy: h.clock.now().addingTimeInterval(10))
            #expect(try await h.store.finish([finish]) == [.applied])
            try await h.advance(by: .seconds(3)) { if case .leaseLost(id) = $0 { true } else { false } }
            try await h.events.first { $0.finished(id, attempt: 1)?.2 == .leaseLost }
        }
    }

    @Test("graceful shutdown waits for running jobs, then releases stragglers without using an attempt")
    func gracefulShutdown() async throws {
        let h = Harness()
        let quick = try await h.queue.enqueue(GatedJob(), tenant: acme).id
        let stuck = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        let worker = h.worker(heartbeat: .seconds(3600), grace: .seconds(10))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            try await h.events.first { $0.started(quick, attempt: 1) }
            try await h.events.first { $0.started(stuck, attempt: 1) }
            worker.beginDrain()
            try await h.events.first { if case .draining = $0 { true } else { false } }
            h.gate.open() // the quick job finishes inside the grace period
            try await h.events.first { $0.finished(quick)?.0 == .succeeded }
            h.clock.advance(by: .seconds(9))
            #expect(try await h.store.job(stuck)?.state == .running, "the grace period is not over yet")
            try await h.advance(by: .seconds(1)) { $0.finished(stuck) != nil }
            try await group.waitForAll()
        }
        #expect(try await h.store.job(quick)?.state == .completed)
        let released = try #require(try await h.store.job(stuck))
        #expect(released.state == .available && released.attempt == 0, "released without using an attempt: \(released.state) \(released.attempt) \(String(describing: released.lastError))")
        #expect(try await h.store.attempts(of: stuck).map(\.outcome) == [.interrupted])
    }

    @Test("no job is marked completed before run returned")
    func completionAfterReturn() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(GatedJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            #expect(try await h.store.job(id)?.state == .running)
            #expect(h.counter.value("gated-done:1") == 0)
            h.gate.open()
            try await h.events.first { $0.finished(id) != nil }
        }
        #expect(try await h.store.job(id)?.state == .completed)
        #expect(h.counter.value("gated-done:1") == 1)
    }

    @Test("many jobs across concurrent slots all complete exactly once")
    func concurrency() async throws {
        let h = Harness()
        let ids = try await h.queue.enqueue((0..<300).map { SucceedingJob(note: "\($0)") }, tenant: acme).map(\.id)
        try await h.running([h.worker(id: "a", concurrency: 8), h.worker(id: "b", concurrency: 5)]) {
            try await h.events.count(300) { if case .attemptFinished(_, _, .succeeded, _, .applied) = $0 { true } else { false } }
        }
        for id in ids { #expect(h.counter.value("succeed:\(id)") == 1) }
        let counts = try await h.store.counts()
        #expect(counts.filter { $0.state == .completed }.reduce(0) { $0 + $1.count } == 300)
    }

    @Test("one log line per attempt carries job id, type, queue, worker, tenant, correlation, attempt, outcome, duration and error class, never the payload")
    func attemptLogLine() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(FlakyJob(failures: 1, apiKey: "PLANTED-SECRET"), tenant: acme, options: EnqueueOptions(correlation: ["order_id": "o-77"])).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
        }
        let lines = h.logs.entries.filter { $0.metadata["job_id"] == "\(id)" }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.metadata["job_type"] == FlakyJob.name && line.metadata["queue"] == "default" && line.metadata["worker"] == "w1")
        #expect(line.metadata["tenant"] == "acme" && line.metadata["order_id"] == "o-77" && line.metadata["attempt"] == "1")
        #expect(line.metadata["outcome"] == "failed" && line.metadata["error_class"] == "transient" && line.metadata["duration_ms"] != nil)
        #expect(h.logs.entries.allSatisfy { !$0.line.contains("PLANTED-SECRET") && !$0.line.contains("apiKey") })
    }
}
