import Foundation
import InMemoryTracing
import Surety
import SuretyTesting
import Testing
import Tracing

/// Fails its first attempt, then enqueues a child job and succeeds.
struct TracedParentJob: Job {
    static let name = "test.traced-parent"
    func run(_ context: JobContext) async throws {
        let counter = try context.dependency(Counter.self)
        if counter.increment("parent:\(context.id)") == 1 { throw ProviderDown(detail: "timeout") }
        try await context.enqueue(TracedChildJob())
    }
}

struct TracedChildJob: Job {
    static let name = "test.traced-child"
    func run(_ context: JobContext) async throws {}
}

@Suite("Tracing: the enqueuing trace is stored with the job and every attempt's span links to it")
struct TracingTests {
    let acme = try! TenantID("acme")

    @Test("all attempts of a job, and the job it enqueued, can be followed from the request that enqueued it")
    func attemptsLinkToTheEnqueuingTrace() async throws {
        let tracer = InMemoryTracer()
        let tracing = TracingOptions(tracer: tracer)
        let h = Harness(extraTypes: [TracedParentJob.self, TracedChildJob.self])
        let queue = JobQueue(store: h.store, registry: h.registry, clock: h.clock, tracing: tracing)

        // A request span enqueues the job.
        let request = tracer.startSpan("POST /signup", ofKind: .server)
        let id = try await ServiceContext.$current.withValue(request.context) {
            try await queue.enqueue(TracedParentJob(), tenant: acme).id
        }
        request.end()
        let stored = try #require(try await h.store.job(id))
        #expect(stored.traceContext[InMemoryTracer.traceIDKey] == request.traceID)
        #expect(stored.traceContext[InMemoryTracer.spanIDKey] == request.spanID)

        // Without an active trace, nothing is stored.
        let untraced = try await queue.enqueue(TracedChildJob(), tenant: acme).id
        #expect(try await h.store.job(untraced)?.traceContext.isEmpty == true)

        var configuration = WorkerConfiguration(workerID: "w1", onEvent: h.events.record)
        configuration.tracing = tracing
        var dependencies = JobDependencies()
        dependencies.register(h.counter)
        let worker = Worker(store: h.store, registry: h.registry, configuration: configuration, dependencies: dependencies, clock: h.clock)

        try await h.running([worker]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
            try await h.advance(by: .seconds(12)) { $0.finished(id, attempt: 2) != nil }
            try await h.events.first { event in
                if case .attemptFinished(let job, _, _, _, _) = event { return job != id && job != untraced }
                return false
            }
        }

        let spans = tracer.finishedSpans
        let parentSpans = spans.filter { $0.operationName == "surety.job test.traced-parent" }
            .sorted { attemptOf($0) < attemptOf($1) }
        try #require(parentSpans.count == 2, "one span per attempt, got \(spans.map(\.operationName))")
        for (index, span) in parentSpans.enumerated() {
            #expect(span.kind == .consumer)
            #expect(span.attributes["surety.job.id"]?.toSpanAttribute() == .int64(id.rawValue))
            #expect(span.attributes["surety.job.type"]?.toSpanAttribute() == .string("test.traced-parent"))
            #expect(span.attributes["surety.job.attempt"]?.toSpanAttribute() == .int64(Int64(index + 1)))
            #expect(span.attributes["surety.tenant"]?.toSpanAttribute() == .string("acme"))
            let link = try #require(span.links.first, "attempt \(index + 1) links to the enqueuing request")
            #expect(link.context.inMemorySpanContext?.traceID == request.traceID)
            #expect(link.context.inMemorySpanContext?.spanID == request.spanID)
        }
        #expect(parentSpans[0].attributes["surety.job.outcome"]?.toSpanAttribute() == .string("failed"))
        #expect(parentSpans[0].attributes["surety.job.next"]?.toSpanAttribute() == .string("retry"))
        #expect(parentSpans[0].status?.code == .error)
        #expect(parentSpans[1].attributes["surety.job.outcome"]?.toSpanAttribute() == .string("succeeded"))
        #expect(parentSpans[1].status?.code == .ok)

        // The child was enqueued inside attempt 2: it carries that attempt's context, and its own
        // span links back to it.
        let child = try #require(try await h.store.jobs(JobFilter(types: ["test.traced-child"])).first { $0.id != untraced })
        #expect(child.traceContext[InMemoryTracer.spanIDKey] == parentSpans[1].spanID)
        #expect(child.traceContext[InMemoryTracer.traceIDKey] == parentSpans[1].traceID)
        let childSpan = try #require(spans.first { $0.attributes["surety.job.id"]?.toSpanAttribute() == .int64(child.id.rawValue) })
        #expect(childSpan.links.first?.context.inMemorySpanContext?.spanID == parentSpans[1].spanID)

        // The untraced job's span has no link.
        let untracedSpan = try #require(spans.first { $0.attributes["surety.job.id"]?.toSpanAttribute() == .int64(untraced.rawValue) })
        #expect(untracedSpan.links.isEmpty)
    }

    private func attemptOf(_ span: FinishedInMemorySpan) -> Int64 {
        if case .int64(let value)? = span.attributes["surety.job.attempt"]?.toSpanAttribute() { return value }
        return 0
    }
}
