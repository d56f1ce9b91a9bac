import Foundation
@testable import Surety
import SuretyTesting
import Synchronization
import Testing

/// Effects whose `perform` failed for sure are not in doubt (issue 16, review items 10, 17, 20).
@Suite("Effect ledger: definite failures and redaction (review items 10, 17, 20)")
struct HardeningEffectTests {
    let acme = try! TenantID("acme")

    /// Sends through the fake provider; a 502 is wrapped as "not performed" when `wrapsDefiniteFailures`.
    struct CarefulEmailJob: Job {
        static let name = "test.careful-email"
        static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(10)))
        static let secretFields: Set<String> = ["to"]
        var to: String
        var wrapsDefiniteFailures: Bool
        func run(_ context: JobContext) async throws {
            let provider = try context.dependency(FakeEmailProvider.self)
            _ = try await context.effect("send", key: to) { key in
                do {
                    return Receipt(messageID: try provider.send(to: to, idempotencyKey: key))
                } catch let refused as ProviderDown where wrapsDefiniteFailures {
                    throw EffectNotPerformed(refused)
                }
            }
        }
    }

    /// Connects to a provider that refuses the connection (nothing was sent).
    struct RefusedConnectionJob: Job {
        static let name = "test.refused-connection"
        static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(10)))
        func run(_ context: JobContext) async throws {
            let counter = try context.dependency(Counter.self)
            _ = try await context.effect("charge") { _ in
                if counter.increment("connects") == 1 { throw POSIXError(.ECONNREFUSED) }
                return Receipt(messageID: "ok")
            }
        }
    }

    func worker(_ h: Harness, _ provider: FakeEmailProvider) -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(provider)
        dependencies.register(h.counter)
        return Worker(store: h.store, registry: h.registry, configuration: WorkerConfiguration(workerID: "w1", onEvent: h.events.record), dependencies: dependencies, clock: h.clock, logger: h.logs.logger())
    }

    @Test("a perform that says it did not happen (a 502) leaves no started record; the next attempt sends once")
    func notPerformedIsForgotten() async throws {
        let h = Harness(extraTypes: [CarefulEmailJob.self])
        let provider = FakeEmailProvider()
        provider.inject([.badGatewayBeforeAccepting])
        let id = try await h.queue.enqueue(CarefulEmailJob(to: "a@b.example", wrapsDefiniteFailures: true), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed, "attempt 2 must not stop in doubt: \(String(describing: record.deadReason))")
        #expect(provider.emailsDelivered == 1)
        let first = try #require(try await h.store.attempts(of: id).first)
        #expect(first.error?.type == "ProviderDown", "the attempt records the provider's error, not the wrapper")
    }

    @Test("a refused connection is known not to have performed the effect, without any wrapping")
    func refusedConnectionIsNotInDoubt() async throws {
        let h = Harness(extraTypes: [RefusedConnectionJob.self])
        let id = try await h.queue.enqueue(RefusedConnectionJob(), tenant: acme).id
        try await h.running([worker(h, FakeEmailProvider())]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        #expect(try await h.store.job(id)?.state == .completed)
    }

    @Test("an ambiguous failure (the response was lost) is still in doubt under the default policy")
    func ambiguousStaysInDoubt() async throws {
        let h = Harness(extraTypes: [CarefulEmailJob.self])
        let provider = FakeEmailProvider()
        provider.inject([.loseResponseAfterAccepting])
        let id = try await h.queue.enqueue(CarefulEmailJob(to: "a@b.example", wrapsDefiniteFailures: true), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .inDoubt)
    }

    @Test("the caller's effect key is not logged verbatim (it may be a secret or an address)")
    func effectKeyRedactedInLogs() async throws {
        let h = Harness(extraTypes: [CarefulEmailJob.self])
        let provider = FakeEmailProvider()
        provider.inject([.loseResponseAfterAccepting])
        let id = try await h.queue.enqueue(CarefulEmailJob(to: "secret-person@b.example", wrapsDefiniteFailures: false), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        let leaked = h.logs.entries.filter { entry in
            entry.line.contains("secret-person@b.example")
        }
        #expect(leaked.isEmpty, "logged the effect key verbatim: \(leaked.map(\.message))")
    }

    /// A charge whose provider first answers 503, then refuses the card.
    struct ChargeJob: Job {
        static let name = "test.charge-invalid-card"
        static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(10)))
        func run(_ context: JobContext) async throws {
            let counter = try context.dependency(Counter.self)
            _ = try await context.effect("charge") { _ -> Receipt in
                if counter.increment("charge-calls") == 1 { throw EffectNotPerformed(ProviderDown(detail: "503 service unavailable")) }
                throw EffectNotPerformed(PermanentFailure("card number is invalid"))
            }
        }
    }

    @Test("an invalid card that first got a 503 ends as permanent_error, not in_doubt (item 20)")
    func invalidCardAfter503() async throws {
        let h = Harness(extraTypes: [ChargeJob.self])
        let id = try await h.queue.enqueue(ChargeJob(), tenant: acme).id
        try await h.running([worker(h, FakeEmailProvider())]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .permanentError)
        #expect(try await (h.store as! MemoryStore).effects(of: id).isEmpty, "no effect left started")
    }

    @Test("the rescue log line names the job's tenant and type")
    func rescueLogLine() async throws {
        let h = Harness()
        let id = try await h.queue.enqueue(SucceedingJob(note: "x"), tenant: acme).id
        let now = h.clock.now()
        _ = try await h.store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "gone", now: now, leaseUntil: now.addingTimeInterval(1)))
        h.clock.advance(by: .seconds(2))
        #expect(try await LeaseRescuer.rescueOnce(store: h.store, registry: h.registry, clock: h.clock, logger: h.logs.logger()) == 1)
        #expect(h.logs.entries.contains { $0.message.contains("rescued") && $0.metadata["job_id"] == "\(id)" && $0.metadata["tenant"] == "acme" && $0.metadata["job_type"] == SucceedingJob.name })
    }

    /// Records an effect's result as a string, then (after a deploy, say) reads it as a number.
    struct ChangedResultJob: Job {
        static let name = "test.changed-result"
        static let options = JobOptions(maxAttempts: 5, backoff: .constant(.seconds(10)))
        func run(_ context: JobContext) async throws {
            if context.attempt == 1 {
                _ = try await context.effect("lookup") { _ in "a string" }
                throw ProviderDown(detail: "the step after the effect failed")
            }
            let _: Int = try await context.effect("lookup") { _ in 42 }
        }
    }

    @Test("a Surety error that retrying cannot fix (a recorded result that no longer decodes) is permanent")
    func suretyErrorsAreClassified() async throws {
        let h = Harness(extraTypes: [ChangedResultJob.self])
        let id = try await h.queue.enqueue(ChangedResultJob(), tenant: acme).id
        try await h.running([worker(h, FakeEmailProvider())]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(10)) { $0.finished(id, attempt: 2) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .permanentError, "got \(record.state)")
        #expect(ErrorClassifier.standard.classify(SuretyError(.storeUnavailable, "x")) == .transient)
        #expect(ErrorClassifier.standard.classify(SuretyError(.unknownJobType, "x")) == .transient, "a newer worker may know the type")
        #expect(ErrorClassifier.standard.classify(SuretyError(.tenantMismatch, "x")) == .permanent)
    }
}
