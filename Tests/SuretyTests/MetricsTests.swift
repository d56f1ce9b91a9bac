import Foundation
import MetricsTestKit
import Surety
import SuretyTesting
import Testing

@Suite("Metrics")
struct MetricsTests {
    let acme = try! TenantID("acme")

    @Test("enqueue, attempts, retries, dead letters, latency and time to success are counted by queue and type")
    func jobMetrics() async throws {
        let metrics = TestMetrics()
        let h = Harness()
        let options = MetricsOptions(factory: metrics)
        let queue = JobQueue(store: h.store, registry: h.registry, clock: h.clock, metrics: options)
        let ok = try await queue.enqueue(SucceedingJob(note: ""), tenant: acme).id
        let flaky = try await queue.enqueue(FlakyJob(failures: 1, apiKey: "k"), tenant: acme).id
        let declined = try await queue.enqueue(DecliningJob(), tenant: acme).id
        var dependencies = JobDependencies()
        dependencies.register(h.counter)
        let worker = Worker(store: h.store, registry: h.registry, configuration: WorkerConfiguration(workerID: "w", metrics: options, onEvent: h.events.record), dependencies: dependencies, clock: h.clock, logger: h.logs.logger())
        try await h.running([worker]) {
            try await h.events.first { $0.finished(ok) != nil }
            try await h.events.first { $0.finished(declined) != nil }
            try await h.events.first { $0.finished(flaky, attempt: 1) != nil }
            try await h.advance(by: .seconds(12)) { $0.finished(flaky, attempt: 2) != nil }
        }
        func counter(_ label: String, _ dims: [(String, String)]) throws -> Int64 { try metrics.expectCounter(label, dims).totalValue }
        #expect(try counter("surety_jobs_enqueued_total", [("queue", "default"), ("type", SucceedingJob.name)]) == 1)
        #expect(try counter("surety_attempts_started_total", [("queue", "default"), ("type", FlakyJob.name)]) == 2)
        #expect(try counter("surety_jobs_retried_total", [("queue", "default"), ("type", FlakyJob.name)]) == 1)
        #expect(try counter("surety_attempts_failed_total", [("queue", "default"), ("type", FlakyJob.name), ("error_class", "transient"), ("outcome", "failed")]) == 1)
        #expect(try counter("surety_jobs_completed_total", [("queue", "default"), ("type", FlakyJob.name)]) == 1)
        #expect(try counter("surety_jobs_dead_total", [("queue", "default"), ("type", DecliningJob.name), ("reason", "permanent_error")]) == 1)
        let timeToSuccess = try metrics.expectTimer("surety_time_to_success_seconds", [("queue", "default"), ("type", FlakyJob.name)])
        #expect(timeToSuccess.values.count == 1 && timeToSuccess.values[0] >= 8_000_000_000, "time to success includes the retry's backoff")
        _ = try metrics.expectTimer("surety_queue_latency_seconds", [("queue", "default"), ("type", SucceedingJob.name)])
        let succeededRun = try metrics.expectTimer("surety_attempt_duration_seconds", [("queue", "default"), ("type", FlakyJob.name), ("outcome", "succeeded")])
        let failedRun = try metrics.expectTimer("surety_attempt_duration_seconds", [("queue", "default"), ("type", FlakyJob.name), ("outcome", "failed")])
        #expect(succeededRun.values.count == 1 && failedRun.values.count == 1, "one duration per attempt, by outcome")
        #expect(!metrics.counters.contains { $0.dimensions.contains { $0.0 == "tenant" } }, "no tenant dimension unless asked")
    }

    @Test("the depth sampler reports gauges per queue and state, and zero for drained states")
    func depthGauges() async throws {
        let metrics = TestMetrics()
        let store = MemoryStore()
        let queue = JobQueue(store: store)
        try await queue.enqueue([SucceedingJob(note: "a"), SucceedingJob(note: "b")], tenant: acme)
        let sampler = QueueDepthSampler(store: store, metrics: MetricsOptions(factory: metrics))
        let seen = try await sampler.sampleOnce()
        #expect(try metrics.expectGauge("surety_queue_depth", [("queue", "default"), ("state", "available")]).lastValue == 2)
        #expect(try metrics.expectGauge("surety_dead_letter_size", [("queue", "default")]).lastValue == 0)
        let now = Date()
        _ = try await store.claim(ClaimRequest(queues: ["default"], limit: 10, worker: "w", now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(60)))
        try await sampler.sampleOnce(previous: seen)
        #expect(try metrics.expectGauge("surety_queue_depth", [("queue", "default"), ("state", "available")]).lastValue == 0)
        #expect(try metrics.expectGauge("surety_queue_depth", [("queue", "default"), ("state", "running")]).lastValue == 2)
    }
}
