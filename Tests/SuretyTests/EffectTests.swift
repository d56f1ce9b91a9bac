import Foundation
import Surety
import SuretyTesting
import Synchronization
import Testing

/// A provider that honours idempotency keys and can fail in the two ways the seeds describe:
/// a 502 before accepting, or accepting and then losing the response.
final class FakeEmailProvider: Sendable {
    enum Fault: Sendable { case badGatewayBeforeAccepting, loseResponseAfterAccepting }
    struct ResponseLost: Error, CustomStringConvertible { var description: String { "connection reset after the request was sent" } }

    private let state = Mutex<(sent: [String: String], faults: [Fault], sends: Int)>(([:], [], 0))

    func inject(_ faults: [Fault]) { state.withLock { $0.faults = faults } }
    var emailsDelivered: Int { state.withLock { $0.sent.count } }
    var sendCalls: Int { state.withLock { $0.sends } }

    /// Sends once per idempotency key; returns the message id.
    func send(to: String, idempotencyKey: String) throws -> String {
        let (fault, id) = state.withLock { state -> (Fault?, String) in
            state.sends += 1
            let fault = state.faults.isEmpty ? nil : state.faults.removeFirst()
            if fault == .badGatewayBeforeAccepting { return (fault, "") }
            if let existing = state.sent[idempotencyKey] { return (fault, existing) }
            let id = "msg-\(state.sent.count + 1)"
            state.sent[idempotencyKey] = id
            return (fault, id)
        }
        switch fault {
        case .badGatewayBeforeAccepting?: throw ProviderDown(detail: "provider returned 502")
        case .loseResponseAfterAccepting?: throw ResponseLost()
        case nil: return id
        }
    }

    func lookup(idempotencyKey: String) -> String? { state.withLock { $0.sent[idempotencyKey] } }
}

struct Receipt: Codable, Sendable, Equatable { var messageID: String }

struct EmailJob: Job {
    static let name = "test.email"
    static let options = JobOptions(maxAttempts: 5, backoff: .exponential(initial: .seconds(10), factor: 2, cap: .seconds(60), jitter: 0.2))
    var to: String
    var reconcile: Bool
    var policy: InDoubtPolicy

    func run(_ context: JobContext) async throws {
        let provider = try context.dependency(FakeEmailProvider.self)
        let lookup: @Sendable (String) async throws -> ReconcileAnswer<Receipt> = { key in
            provider.lookup(idempotencyKey: key).map { .happened(Receipt(messageID: $0)) } ?? .didNotHappen
        }
        let reconcile = self.reconcile ? lookup : nil
        let receipt = try await context.effect("send", key: to, policy: policy, reconcile: reconcile) { key in
            Receipt(messageID: try provider.send(to: to, idempotencyKey: key))
        }
        context.logger.info("sent", metadata: ["message_id": "\(receipt.messageID)"])
    }
}

@Suite("Effect ledger: effects that happen once")
struct EffectTests {
    let acme = try! TenantID("acme")

    func harness() -> (Harness, FakeEmailProvider) {
        (Harness(extraTypes: [EmailJob.self]), FakeEmailProvider())
    }

    func worker(_ h: Harness, _ provider: FakeEmailProvider, id: String = "w1") -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(provider)
        return Worker(store: h.store, registry: h.registry, configuration: WorkerConfiguration(workerID: id, onEvent: h.events.record), dependencies: dependencies, clock: h.clock, logger: h.logs.logger())
    }

    @Test("a transient 502 retries after the expected backoff and produces exactly one email")
    func badGatewayOnce() async throws {
        let (h, provider) = harness()
        provider.inject([.badGatewayBeforeAccepting])
        let id = try await h.queue.enqueue(EmailJob(to: "a@b.example", reconcile: true, policy: .stopInDoubt), tenant: acme).id
        let start = h.clock.now()
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            let retryAt = try #require(try await h.store.job(id)).runAt.timeIntervalSince(start)
            #expect(retryAt >= 8 && retryAt <= 12, "10 s ± 20 % on the injected clock, got \(retryAt)")
            try await h.advance(by: .interval(retryAt)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        #expect(provider.emailsDelivered == 1)
        #expect(try await h.store.job(id)?.state == .completed)
    }

    @Test("a provider that accepts and loses the response still produces exactly one email (reconcile)")
    func lostResponseReconciled() async throws {
        let (h, provider) = harness()
        provider.inject([.loseResponseAfterAccepting])
        let id = try await h.queue.enqueue(EmailJob(to: "a@b.example", reconcile: true, policy: .stopInDoubt), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(12)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        #expect(provider.emailsDelivered == 1)
        #expect(provider.sendCalls == 1, "the reconcile found the message; no second send")
        let effects = try await (h.store as! MemoryStore).effects(of: id)
        #expect(effects.count == 1 && effects[0].state == .confirmed && effects[0].result == #"{"messageID":"msg-1"}"#)
    }

    @Test("without reconcile, rerun-with-same-key lets the provider deduplicate: still one email")
    func lostResponseRerunSameKey() async throws {
        let (h, provider) = harness()
        provider.inject([.loseResponseAfterAccepting])
        let id = try await h.queue.enqueue(EmailJob(to: "a@b.example", reconcile: false, policy: .rerunWithSameKey), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(12)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        #expect(provider.emailsDelivered == 1)
        #expect(provider.sendCalls == 2, "re-sent with the same key; the provider returned the first message")
    }

    @Test("without reconcile, the default policy stops: the job is dead, marked in doubt, nothing re-sent")
    func lostResponseStopsInDoubt() async throws {
        let (h, provider) = harness()
        provider.inject([.loseResponseAfterAccepting])
        let id = try await h.queue.enqueue(EmailJob(to: "a@b.example", reconcile: false, policy: .stopInDoubt), tenant: acme).id
        try await h.running([worker(h, provider)]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(12)) { $0.finished(id, attempt: 2) != nil }
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .inDoubt)
        #expect(record.lastError?.message.contains("surety:acme:\(id):send:a@b.example") == true, "the inbox names the idempotency key to check")
        #expect(provider.sendCalls == 1)
    }

    @Test("a confirmed effect is not performed again when a later step of the job fails")
    func confirmedEffectReturnsRecordedResult() async throws {
        struct ChargeThenFail: Job {
            static let name = "test.charge-then-fail"
            static let options = JobOptions(backoff: .constant(.seconds(1)))
            func run(_ context: JobContext) async throws {
                let counter = try context.dependency(Counter.self)
                let receipt = try await context.effect("charge") { key in
                    counter.increment("charges")
                    return Receipt(messageID: key)
                }
                #expect(receipt.messageID == "surety:acme:\(context.id):charge:")
                if context.attempt == 1 { throw ProviderDown(detail: "the step after the charge failed") }
            }
        }
        let h = Harness(extraTypes: [ChargeThenFail.self])
        let id = try await h.queue.enqueue(ChargeThenFail(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(1)) { $0.finished(id, attempt: 2)?.0 == .succeeded }
        }
        #expect(h.counter.value("charges") == 1)
    }
}
