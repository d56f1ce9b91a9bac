import Foundation
import Surety
import SuretyTesting
import Testing

/// A job re-run after a failure or a crash does not enqueue its follow-ups twice (issue 16,
/// item 19 from the first real app).
@Suite("Follow-up jobs of a re-run job (item 19)")
struct HardeningFollowUpTests {
    let acme = try! TenantID("acme")

    /// Enqueues two follow-ups, then fails on its first attempt (as a crash after the enqueue would).
    struct ParentJob: Job {
        static let name = "test.follow-up-parent"
        static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(1)))
        func run(_ context: JobContext) async throws {
            try await context.enqueue(SucceedingJob(note: "receipt"))
            try await context.enqueue(SucceedingJob(note: "loyalty"))
            if context.attempt == 1 { throw ProviderDown(detail: "the step after the enqueue failed") }
        }
    }

    /// Enqueues one follow-up per attempt on purpose, with its own key.
    struct PerAttemptJob: Job {
        static let name = "test.follow-up-per-attempt"
        static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(1)))
        func run(_ context: JobContext) async throws {
            try await context.enqueue(SucceedingJob(note: "ping"), options: EnqueueOptions(uniqueKey: "ping-\(context.id)-\(context.attempt)"))
            if context.attempt == 1 { throw ProviderDown(detail: "again") }
        }
    }

    @Test("a job that enqueued follow-ups and is run again enqueues each of them once")
    func followUpsOnce() async throws {
        let h = Harness(extraTypes: [ParentJob.self])
        let id = try await h.queue.enqueue(ParentJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(1)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        let children = try await h.store.jobs(JobFilter(types: [SucceedingJob.name], limit: 100))
        #expect(children.count == 2, "each follow-up once, got \(children.count)")
        #expect(children.allSatisfy { $0.tenant == acme })
    }

    @Test("a follow-up with its own unique key is enqueued as that key says")
    func ownKeyWins() async throws {
        let h = Harness(extraTypes: [PerAttemptJob.self])
        let id = try await h.queue.enqueue(PerAttemptJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(1)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        let children = try await h.store.jobs(JobFilter(types: [SucceedingJob.name], limit: 100))
        #expect(children.count == 2)
    }
}
