import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 16, item 10 (second half), at the command line: `dlq show` lists the job's effects,
/// `dlq resolve-effect` records the operator's finding (audited), and a requeued job continues
/// from it.
@Suite("Hardening: dlq resolve-effect")
struct HardeningEffectResolutionCLITests {
    static let acme = try! TenantID("acme")

    /// A demo.email job whose attempt 1 started its `send` effect and ended in the inbox as
    /// `in_doubt`, written through the store as a worker would. The recipient is also the
    /// payload's secret field, so its effect key must be shown scrubbed.
    static func inDoubtEmail(_ to: String, _ store: SQLiteStore, _ dir: TempDir) async throws -> JobID {
        let payload = #"{"to": "\#(to)", "subject": "welcome", "secret": "\#(to)"}"#
        let enqueued = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.email", "--tenant", "acme", "--payload", payload, "--json"], in: dir)
        let id = try enqueuedID(enqueued)
        let now = Date()
        let claimed = try await store.claim(ClaimRequest(queues: ["email"], limit: 1, worker: "w-test", now: now, leaseUntil: now.addingTimeInterval(60)))
        let job = try #require(claimed.first)
        #expect(job.id == id)
        let began = try await store.beginEffect(EffectKey(tenant: acme, jobID: id, name: "send", key: to), lease: job.lease, attempt: 1, worker: "w-test", now: now)
        #expect(began == .started)
        let error = AttemptError(type: "EffectInDoubt", message: "effect 'send' was started in attempt 1 and never confirmed", errorClass: .permanent)
        _ = try await store.finish([AttemptFinish(lease: job.lease, attempt: 1, worker: "w-test", startedAt: now, endedAt: now.addingTimeInterval(1), outcome: .failed, error: error, next: .dead(.inDoubt))])
        #expect(try await store.job(id)?.deadReason == .inDoubt)
        return id
    }

    @Test("dlq show lists a dead job's effects, key scrubbed")
    func showListsEffects() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        let id = try await Self.inDoubtEmail("ops@acme.example", store, dir)

        let show = try await CLI.run(["dlq", "show", "\(id)", "--store", url, "--json"], in: dir)
        #expect(show.status == 0, "\(show)")
        let effects = try #require(try show.json()["effects"] as? [[String: Any]], "\(show)")
        #expect(effects.count == 1)
        #expect(effects.first?["name"] as? String == "send")
        #expect(effects.first?["key"] as? String == "[REDACTED]", "the key is the secret recipient, scrubbed")
        #expect(effects.first?["state"] as? String == "started")
        #expect(effects.first?["attempt"] as? Int == 1)
        let shownEffects = try #require(try show.json()["effects"] as? [Any])
        let effectsJSON = String(decoding: try JSONSerialization.data(withJSONObject: shownEffects), as: UTF8.self)
        #expect(!effectsJSON.contains("ops@acme.example"), "the effects carry no secret value (the payload's own `to` field is not secret)")

        let text = try await CLI.run(["dlq", "show", "\(id)", "--store", url], in: dir)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("Effects:") && text.stdout.contains("send") && text.stdout.contains("started"), "\(text)")
        #expect(text.stdout.contains("resolve-effect"), "the operator is told how to resolve it")
        let effectsSection = try #require(text.stdout.components(separatedBy: "Effects:").last)
        #expect(effectsSection.contains("[REDACTED]") && !effectsSection.contains("ops@acme.example"), "\(text)")
    }

    @Test("resolve-effect records the finding, audited; the requeued jobs continue from it (happened: no send; did not happen: one send)")
    func resolveThenRequeue() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        _ = try await CLI.run(["migrate", "--store", url], in: dir)
        let store = try await openStore(dir)
        let happened = try await Self.inDoubtEmail("ops@acme.example", store, dir)
        let notHappened = try await Self.inDoubtEmail("billing@acme.example", store, dir)
        let by = ["--by", "alice", "--reason", "checked the provider's log"]

        // Refusals, which change nothing.
        let both = try await CLI.run(["dlq", "resolve-effect", "\(happened)", "--store", url, "--effect", "send", "--happened", "--did-not-happen"] + by, in: dir)
        #expect(both.status == 2, "\(both)")
        let notJSON = try await CLI.run(["dlq", "resolve-effect", "\(happened)", "--store", url, "--effect", "send", "--happened", "--result", "msg-1"] + by, in: dir)
        #expect(notJSON.status == 1 && notJSON.stderr.contains("invalid_payload"), "\(notJSON)")
        let unknown = try await CLI.run(["dlq", "resolve-effect", "\(happened)", "--store", url, "--effect", "charge", "--did-not-happen"] + by, in: dir)
        #expect(unknown.status == 1 && unknown.stderr.contains("not_found"), "\(unknown)")
        #expect(try await store.effects(of: happened).map(\.state) == [.started])
        #expect(try await store.audit(of: happened).isEmpty)

        // Happened, with the message id found at the provider; no --key needed (and the key is secret).
        let resolved = try await CLI.run(["dlq", "resolve-effect", "\(happened)", "--store", url, "--effect", "send", "--happened", "--result", #""msg-dashboard""#, "--json"] + by, in: dir)
        #expect(resolved.status == 0, "\(resolved)")
        let answer = try resolved.json()
        #expect(answer["finding"] as? String == "happened" && answer["state"] as? String == "confirmed")
        #expect(answer["key"] as? String == "[REDACTED]")
        let confirmed = try await store.effects(of: happened)
        #expect(confirmed.count == 1 && confirmed.first?.state == .confirmed && confirmed.first?.result == #""msg-dashboard""#)
        let again = try await CLI.run(["dlq", "resolve-effect", "\(happened)", "--store", url, "--effect", "send", "--did-not-happen"] + by, in: dir)
        #expect(again.status == 1 && again.stderr.contains("invalid_state"), "\(again)")

        // Did not happen, naming the key.
        let removed = try await CLI.run(["dlq", "resolve-effect", "\(notHappened)", "--store", url, "--effect", "send", "--key", "billing@acme.example", "--did-not-happen"] + by, in: dir)
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.contains("did not happen"), "\(removed)")
        #expect(try await store.effects(of: notHappened).isEmpty)

        for id in [happened, notHappened] {
            let audit = try await store.audit(of: id)
            #expect(audit.map(\.action) == ["resolve_effect"] && audit.first?.actor == "alice", "\(audit)")
            #expect(audit.first?.reason.contains("checked the provider's log") == true)
        }
        let show = try await CLI.run(["dlq", "show", "\(happened)", "--store", url], in: dir)
        #expect(show.stdout.contains("resolve_effect"), "\(show)")
        let auditSection = try #require(show.stdout.components(separatedBy: "Audit:").last)
        #expect(auditSection.contains("[REDACTED]") && !auditSection.contains("ops@acme.example"), "the key in the audit reason is scrubbed too: \(show)")

        // Requeue both and run a worker: neither stops in doubt again.
        let requeue = try await CLI.run(["dlq", "requeue", "\(happened)", "\(notHappened)", "--store", url, "--by", "alice", "--reason", "resolved"], in: dir)
        #expect(requeue.status == 0, "\(requeue)")
        let worker = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--poll-interval-ms", "100",
                                        "--demo-email-error-rate", "0", "--demo-email-lost-rate", "0"], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("both jobs finish") {
            let states = try await [store.job(happened)?.state, store.job(notHappened)?.state]
            return states.allSatisfy { $0 == .completed || $0 == .dead }
        }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        #expect(try await store.job(happened)?.state == .completed)
        #expect(try await store.job(notHappened)?.state == .completed)

        let sent = try store.database.read { db in
            try Row.fetchAll(db, sql: "SELECT job_id, message_id, send_requests FROM demo_email_provider ORDER BY job_id")
        }
        let byJob = Dictionary(grouping: sent) { JobID($0["job_id"] as Int64) }
        #expect(byJob[happened] == nil, "resolved as happened: not sent again")
        #expect(byJob[notHappened]?.count == 1 && byJob[notHappened]?.first?["send_requests"] == 1, "resolved as did not happen: sent exactly once")
        #expect(try await store.effects(of: happened).first?.result == #""msg-dashboard""#, "the recorded result stands")
        let performed = try await store.effects(of: notHappened)
        #expect(performed.count == 1 && performed.first?.state == .confirmed)
        if let messageID = byJob[notHappened]?.first?["message_id"] as String? {
            #expect(performed.first?.result == "\"\(messageID)\"")
        }
    }
}
