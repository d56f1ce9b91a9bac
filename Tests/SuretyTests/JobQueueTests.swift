import Foundation
import Surety
import SuretyTesting
import Testing

@Suite("Enqueue validation, unique keys and tenant inheritance")
struct JobQueueTests {
    let acme = try! TenantID("acme")

    @Test("raw enqueue rejects unknown types and malformed payloads, inserting nothing")
    func rawValidation() async throws {
        let h = Harness()
        let unknown = try await #require(throws: SuretyError.self) {
            try await h.queue.enqueue(type: "nope", payload: "{}", tenant: acme)
        }
        #expect(unknown.code == .unknownJobType && unknown.message.contains("nope") && unknown.message.contains("test.flaky"))
        let malformed = try await #require(throws: SuretyError.self) {
            try await h.queue.enqueue(type: FlakyJob.name, payload: #"{"failures": "x", "apiKey": "SECRET-VALUE"}"#, tenant: acme)
        }
        #expect(malformed.code == .invalidPayload && malformed.message.contains("failures"))
        #expect(!malformed.description.contains("SECRET-VALUE"))
        let truncated = try await #require(throws: SuretyError.self) {
            try await h.queue.enqueue(type: FlakyJob.name, payload: #"{"failures": 1"#, tenant: acme)
        }
        #expect(truncated.code == .invalidPayload)
        #expect(try await h.store.jobs(JobFilter()).isEmpty)
    }

    @Test("options are validated with clear errors")
    func optionValidation() async throws {
        let h = Harness()
        for options in [EnqueueOptions(queue: ""), EnqueueOptions(priority: 10), EnqueueOptions(maxAttempts: 0), EnqueueOptions(delay: .seconds(-1)), EnqueueOptions(uniqueKey: "")] {
            let error = try await #require(throws: SuretyError.self) {
                try await h.queue.enqueue(SucceedingJob(note: ""), tenant: acme, options: options)
            }
            #expect(error.code == .invalidArgument)
        }
    }

    @Test("delays, unique keys per tenant and per-call overrides")
    func enqueueOptions() async throws {
        let h = Harness()
        let delayed = try await h.queue.enqueue(SucceedingJob(note: ""), tenant: acme, options: EnqueueOptions(delay: .seconds(90), queue: "mail", priority: 3, tags: ["welcome"], correlation: ["user_id": "u1"]))
        let record = try #require(try await h.store.job(delayed.id))
        #expect(record.state == .scheduled && record.runAt == h.clock.now().addingTimeInterval(90))
        #expect(record.queue == "mail" && record.priority == 3 && record.tags == ["welcome"] && record.correlation == ["user_id": "u1"])
        let first = try await h.queue.enqueue(SucceedingJob(note: "a"), tenant: acme, options: EnqueueOptions(uniqueKey: "welcome:u1"))
        let second = try await h.queue.enqueue(SucceedingJob(note: "b"), tenant: acme, options: EnqueueOptions(uniqueKey: "welcome:u1"))
        let other = try await h.queue.enqueue(SucceedingJob(note: "c"), tenant: try TenantID("globex"), options: EnqueueOptions(uniqueKey: "welcome:u1"))
        #expect(first.inserted && !second.inserted && second.id == first.id && other.inserted)
    }

    @Test("a job enqueued from a job inherits its tenant and correlation ids; another tenant is an explicit call")
    func inheritance() async throws {
        struct Parent: Job {
            static let name = "test.parent"
            func run(_ context: JobContext) async throws {
                try await context.enqueue(SucceedingJob(note: "child"), options: EnqueueOptions(correlation: ["step": "2"]))
                try await context.enqueue(SucceedingJob(note: "other"), inAnotherTenant: TenantID("globex"))
            }
        }
        let h = Harness(extraTypes: [Parent.self])
        let parent = try await h.queue.enqueue(Parent(), tenant: acme, options: EnqueueOptions(correlation: ["request_id": "r-1"])).id
        try await h.running([h.worker()]) {
            try await h.events.count(3) { if case .attemptFinished(_, _, .succeeded, _, _) = $0 { true } else { false } }
        }
        let children = try await h.store.jobs(JobFilter(types: [SucceedingJob.name])).sorted { $0.id < $1.id }
        #expect(children.count == 2)
        #expect(children[0].tenant == acme && children[0].correlation == ["request_id": "r-1", "step": "2"])
        #expect(children[1].tenant == (try TenantID("globex")))
        #expect(children.allSatisfy { $0.id > parent })
    }

    @Test("every attempt runs in the stored tenant; a job that reads tenant from shared state fails closed")
    func tenantIsolation() async throws {
        // The seeds' bug: a worker keeps "the current tenant" in shared state; a retry runs with
        // whatever tenant the last job left there. With the guard, the leak becomes an error.
        final class SharedState: Sendable {
            let tenant = Mutex<TenantID?>(nil)
        }
        struct SendInvoice: Job {
            static let name = "test.invoice"
            static let options = JobOptions(maxAttempts: 1)
            var invoiceOwner: TenantID
            func run(_ context: JobContext) async throws {
                let shared = try context.dependency(SharedState.self)
                // Wrong: trusting worker state instead of the job's tenant.
                let tenantFromSharedState = shared.tenant.withLock { $0 } ?? context.tenant
                try Tenant.$current.withValue(tenantFromSharedState) {
                    try Tenant.require(invoiceOwner)   // the guard at the point of use
                }
            }
        }
        let h = Harness(extraTypes: [SendInvoice.self])
        let shared = SharedState()
        shared.tenant.withLock { $0 = try! TenantID("globex") } // left over from a previous job
        var dependencies = JobDependencies()
        dependencies.register(shared)
        let worker = Worker(store: h.store, registry: h.registry, configuration: WorkerConfiguration(workerID: "w", onEvent: h.events.record), dependencies: dependencies, clock: h.clock)
        let id = try await h.queue.enqueue(SendInvoice(invoiceOwner: acme), tenant: acme).id
        try await h.running([worker]) { try await h.events.first { $0.finished(id) != nil } }
        let record = try #require(try await h.store.job(id))
        #expect(record.state == .dead, "the leak fails closed instead of sending")
        #expect(record.lastError?.message.contains("tenant_mismatch") == true)
    }
}

import Synchronization
