import Foundation
import Surety
import SuretyTesting
import Testing

/// Issue 16, item 10 (second half): an operator who checked the provider records the finding on
/// the in-doubt effect itself, audited, and the requeued job continues from it instead of
/// stopping in doubt again.
@Suite("Hardening: resolving an in-doubt effect")
struct HardeningEffectResolutionTests {
    let acme = try! TenantID("acme")
    let to = "a@b.example"

    func worker(_ h: Harness, _ provider: FakeEmailProvider) -> Worker {
        var dependencies = JobDependencies()
        dependencies.register(provider)
        return Worker(store: h.store, registry: h.registry, configuration: WorkerConfiguration(workerID: "w1", onEvent: h.events.record), dependencies: dependencies, clock: h.clock, logger: h.logs.logger())
    }

    /// Runs an EmailJob without reconcile under the default policy with `fault` on the first
    /// send: attempt 1 fails, attempt 2 finds the unconfirmed record and stops `in_doubt`.
    func deadInDoubt(_ fault: FakeEmailProvider.Fault, _ h: Harness, _ provider: FakeEmailProvider, _ worker: Worker) async throws -> JobID {
        provider.inject([fault])
        let id = try await h.queue.enqueue(EmailJob(to: to, reconcile: false, policy: .stopInDoubt), tenant: acme).id
        try await h.events.first { $0.finished(id, attempt: 1) != nil }
        try await h.advance(by: .seconds(12)) { $0.finished(id, attempt: 2) != nil }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead && record.deadReason == .inDoubt)
        return id
    }

    func action(_ h: Harness, _ reason: String) throws -> OperatorAction {
        try OperatorAction(actor: "ops@example.com", reason: reason, at: h.clock.now())
    }

    func sentMessageIDs(_ h: Harness) -> [String] {
        h.logs.entries.filter { $0.message == "sent" }.compactMap { $0.metadata["message_id"] }
    }

    @Test("without a resolution, a requeued in-doubt job stops in doubt again (the behaviour the resolution changes)")
    func requeueWithoutResolutionStopsAgain() async throws {
        let h = Harness(extraTypes: [EmailJob.self])
        let provider = FakeEmailProvider()
        let worker = worker(h, provider)
        try await h.running([worker]) {
            let id = try await deadInDoubt(.loseResponseAfterAccepting, h, provider, worker)
            _ = try await h.store.requeue([id], action: try action(h, "try again"))
            try await h.advance(by: .seconds(1)) { $0.finished(id, attempt: 1)?.1 == .dead(.inDoubt) }
            #expect(try await h.store.job(id)?.deadReason == .inDoubt)
        }
        #expect(provider.sendCalls == 1)
    }

    @Test("resolved as did-not-happen and requeued, the job sends exactly once and completes")
    func didNotHappenThenRequeue() async throws {
        let h = Harness(extraTypes: [EmailJob.self])
        let provider = FakeEmailProvider()
        let worker = worker(h, provider)
        let ledger = try #require(h.store as? any EffectLedgerStore)
        let id = try await h.running([worker]) {
            // A 502 before accepting: nothing was sent, but without EffectNotPerformed the
            // ledger cannot know, so attempt 2 stops in doubt.
            let id = try await deadInDoubt(.badGatewayBeforeAccepting, h, provider, worker)
            #expect(provider.emailsDelivered == 0)
            let key = EffectKey(tenant: acme, jobID: id, name: "send", key: to)
            let resolved = try await ledger.resolveEffect(key, finding: .didNotHappen, action: try action(h, "no message under this key in the provider's log"))
            #expect(resolved == nil)
            #expect(try await ledger.effects(of: id).isEmpty)
            let requeued = try await h.store.requeue([id], action: try action(h, "resolved: did not happen"))
            #expect(requeued.changed == [id])
            try await h.advance(by: .seconds(1)) { $0.finished(id)?.0 == .succeeded }
            return id
        }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .completed)
        #expect(provider.emailsDelivered == 1, "exactly one email")
        #expect(provider.sendCalls == 2, "the refused send, then one send after the requeue")
        let effects = try await ledger.effects(of: id)
        #expect(effects.count == 1 && effects.first?.state == .confirmed && effects.first?.result == #"{"messageID":"msg-1"}"#)
        let audit = try await h.store.audit(of: id)
        #expect(audit.map(\.action) == ["resolve_effect", "requeue"])
        #expect(audit.first?.reason.contains("did not happen") == true && audit.first?.reason.contains("send") == true)
        #expect(sentMessageIDs(h) == ["msg-1"])
    }

    @Test("resolved as happened with a result and requeued, the job completes without sending again and gets the recorded result")
    func happenedThenRequeue() async throws {
        let h = Harness(extraTypes: [EmailJob.self])
        let provider = FakeEmailProvider()
        let worker = worker(h, provider)
        let ledger = try #require(h.store as? any EffectLedgerStore)
        let id = try await h.running([worker]) {
            let id = try await deadInDoubt(.loseResponseAfterAccepting, h, provider, worker)
            let key = EffectKey(tenant: acme, jobID: id, name: "send", key: to)
            // The operator finds the message at the provider and records its id as the job's code decodes it.
            let found = try #require(provider.lookup(idempotencyKey: key.idempotencyKey))
            let resolved = try await ledger.resolveEffect(key, finding: .happened(result: #"{"messageID":"\#(found)"}"#), action: try action(h, "message \(found) is in the provider's log"))
            #expect(resolved?.state == .confirmed && resolved?.result == #"{"messageID":"msg-1"}"#)
            _ = try await h.store.requeue([id], action: try action(h, "resolved: happened"))
            try await h.advance(by: .seconds(1)) { $0.finished(id)?.0 == .succeeded }
            return id
        }
        #expect(try await h.store.job(id)?.state == .completed)
        #expect(provider.sendCalls == 1, "not sent again after the requeue")
        #expect(provider.emailsDelivered == 1)
        #expect(sentMessageIDs(h) == ["msg-1"], "the job got the recorded result")
        #expect(try await h.store.audit(of: id).map(\.action) == ["resolve_effect", "requeue"])
    }

    @Test("a result that does not decode as the job's result type fails the requeued attempt; it is not sent again")
    func happenedWithWrongShapeFails() async throws {
        let h = Harness(extraTypes: [EmailJob.self])
        let provider = FakeEmailProvider()
        let worker = worker(h, provider)
        let ledger = try #require(h.store as? any EffectLedgerStore)
        try await h.running([worker]) {
            let id = try await deadInDoubt(.loseResponseAfterAccepting, h, provider, worker)
            let key = EffectKey(tenant: acme, jobID: id, name: "send", key: to)
            // The CLI's default result, null, is not a Receipt.
            _ = try await ledger.resolveEffect(key, finding: .happened(result: "null"), action: try action(h, "it happened"))
            _ = try await h.store.requeue([id], action: try action(h, "resolved"))
            // The third attempt to finish (two before the requeue).
            for _ in 0..<100 where h.events.events.filter({ $0.finished(id) != nil }).count < 3 {
                h.clock.advance(by: .seconds(1))
                try await Task.sleep(for: .milliseconds(50))
            }
            let third = h.events.events.filter { $0.finished(id) != nil }.dropFirst(2).first
            #expect(third?.finished(id)?.0 == .failed)
            #expect(third?.finished(id)?.1 != .dead(.inDoubt), "it does not stop in doubt again")
            #expect(try await h.store.job(id)?.lastError?.message.contains("does not decode") == true)
        }
        #expect(provider.sendCalls == 1)
    }

    @Test("the store refuses to resolve an effect while its job runs")
    func refusedWhileRunning() async throws {
        let h = Harness(extraTypes: [GatedEffectJob.self])
        let ledger = try #require(h.store as? any EffectLedgerStore)
        let id = try await h.queue.enqueue(GatedEffectJob(), tenant: acme).id
        try await h.running([h.worker()]) {
            try await h.events.first { $0.started(id, attempt: 1) }
            let key = EffectKey(tenant: acme, jobID: id, name: "charge")
            try await eventuallyStarted(ledger, id)
            do {
                let record = try await ledger.resolveEffect(key, finding: .didNotHappen, action: try action(h, "too early"))
                Issue.record("resolving a running job's effect is refused, but it returned \(String(describing: record))")
            } catch let error as SuretyError {
                #expect(error.code == .invalidState)
            }
            #expect(try await ledger.effects(of: id).map(\.state) == [.started])
            h.gate.open()
            try await h.events.first { $0.finished(id)?.0 == .succeeded }
        }
        #expect(try await h.store.audit(of: id).isEmpty)
    }

    func eventuallyStarted(_ ledger: any EffectLedgerStore, _ id: JobID) async throws {
        for _ in 0..<200 {
            if try await ledger.effects(of: id).contains(where: { $0.state == .started }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the effect never started")
    }
}

/// Starts an effect and waits at the gate inside `perform`.
struct GatedEffectJob: Job {
    static let name = "test.gated-effect"
    func run(_ context: JobContext) async throws {
        let gate = try context.dependency(Gate.self)
        let _: Int = try await context.effect("charge") { _ in
            await gate.wait()
            return 1
        }
    }
}
