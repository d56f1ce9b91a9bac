import Foundation
import Surety
import SuretyTesting
import Testing

@Suite("Cancelling running jobs, on the memory store with an injected clock")
struct CancellationTests {
    let acme = try! TenantID("acme")

    @Test("a running job's task is cancelled at the next heartbeat; the attempt and the job end cancelled")
    func runningJobCancelled() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(HangingJob(), tenant: acme).id
        try await h.running([h.worker(lease: .seconds(9), heartbeat: .seconds(3))]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            let result = try await h.queue.requestCancellation([id], by: "ops@example.com", reason: "customer asked")
            #expect(result.requested == [id] && result.cancelled.isEmpty)
            #expect(try await h.store.job(id)?.state == .running, "the store only records the request")
            try await h.advance(by: .seconds(3)) { if case .cancelRequested(id) = $0 { true } else { false } }
            let finished = try await h.events.first { $0.finished(id) != nil }
            let (outcome, next, fence) = try #require(finished.finished(id))
            #expect(outcome == .cancelled && next == .cancelled && fence == .applied)
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .cancelled)
        let attempts = try await h.store.attempts(of: id)
        #expect(attempts.map(\.outcome) == [.cancelled])
        #expect(attempts.first?.error?.message == "cancelled by ops@example.com: customer asked")
        #expect(try await h.store.audit(of: id).map(\.action) == ["cancel_request"])
        #expect(h.logs.entries.contains { $0.message.contains("cancel requested") && $0.metadata["job_id"] == "\(id)" })
    }

    @Test("a job that ignores cancellation and returns completes; the request is dropped")
    func ignoringJobCompletes() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(GatedJob(), tenant: acme).id
        try await h.running([h.worker(lease: .seconds(9), heartbeat: .seconds(3))]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            _ = try await h.queue.requestCancellation([id], by: "ops", reason: "too late")
            h.gate.open()
            try await h.events.first { $0.finished(id) != nil }
        }
        #expect(try await h.store.job(id)?.state == .completed)
    }

    @Test("waiting jobs are cancelled at once; finished ones are skipped; blank reasons are refused")
    func waitingAndFinished() async throws {
        let h = Harness()
        let waiting = try await h.queue.enqueue(SucceedingJob(note: "x"), tenant: acme, options: EnqueueOptions(delay: .seconds(60))).id
        let result = try await h.queue.requestCancellation([waiting], by: "ops", reason: "not needed")
        #expect(result.cancelled == [waiting])
        let again = try await h.queue.requestCancellation([waiting], by: "ops", reason: "not needed")
        #expect(again.skipped.map(\.id) == [waiting])
        await #expect(throws: SuretyError.self) { try await h.queue.requestCancellation([waiting], by: "ops", reason: " ") }
    }
}
