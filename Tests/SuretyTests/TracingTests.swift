import Foundation
import Synchronization
import InMemoryTracing
import Logging
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

@Suite("Tracing: an enqueue span in the enqueuing trace is stored with the job; every attempt's span descends from it and links to it")
struct TracingTests {
    let acme = try! TenantID("acme")

    @Test("all attempts of a job, and the job it enqueued, are in the trace of the request that enqueued it, under its enqueue span")
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
        let enqueue = try #require(tracer.finishedSpans.first { $0.operationName == "surety.enqueue test.traced-parent" }, "the enqueue span")
        #expect(enqueue.kind == .producer)
        #expect(enqueue.traceID == request.traceID)
        #expect(enqueue.parentSpanID == request.spanID, "the enqueue span is the request's child")
        #expect(enqueue.attributes["surety.tenant"]?.toSpanAttribute() == .string("acme"))
        #expect(enqueue.attributes["surety.job.id"]?.toSpanAttribute() == .int64(id.rawValue))
        let stored = try #require(try await h.store.job(id))
        #expect(stored.traceContext[InMemoryTracer.traceIDKey] == request.traceID)
        #expect(stored.traceContext[InMemoryTracer.spanIDKey] == enqueue.spanID, "the job carries its enqueue span's context")

        // Without an active trace, nothing is stored and no enqueue span is started.
        let untraced = try await queue.enqueue(TracedChildJob(), tenant: acme).id
        #expect(try await h.store.job(untraced)?.traceContext.isEmpty == true)
        #expect(!tracer.finishedSpans.contains { $0.operationName == "surety.enqueue test.traced-child" })

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
            #expect(span.traceID == request.traceID, "attempt \(index + 1) is in the request's trace")
            #expect(span.parentSpanID == enqueue.spanID, "attempt \(index + 1) is the enqueue span's child")
            let link = try #require(span.links.first, "attempt \(index + 1) links to the enqueue span")
            #expect(link.context.inMemorySpanContext?.traceID == request.traceID)
            #expect(link.context.inMemorySpanContext?.spanID == enqueue.spanID)
        }
        #expect(parentSpans[0].attributes["surety.job.outcome"]?.toSpanAttribute() == .string("failed"))
        #expect(parentSpans[0].attributes["surety.job.next"]?.toSpanAttribute() == .string("retry"))
        #expect(parentSpans[0].status?.code == .error)
        #expect(parentSpans[1].attributes["surety.job.outcome"]?.toSpanAttribute() == .string("succeeded"))
        #expect(parentSpans[1].status?.code == .ok)

        // The child was enqueued inside attempt 2: its enqueue span is that attempt's child, it
        // carries the enqueue span's context, and its own attempt descends from and links to it.
        let child = try #require(try await h.store.jobs(JobFilter(types: ["test.traced-child"])).first { $0.id != untraced })
        let childEnqueue = try #require(spans.first { $0.operationName == "surety.enqueue test.traced-child" })
        #expect(childEnqueue.parentSpanID == parentSpans[1].spanID)
        #expect(child.traceContext[InMemoryTracer.spanIDKey] == childEnqueue.spanID)
        #expect(child.traceContext[InMemoryTracer.traceIDKey] == request.traceID)
        let childSpan = try #require(spans.first { $0.operationName == "surety.job test.traced-child" && $0.attributes["surety.job.id"]?.toSpanAttribute() == .int64(child.id.rawValue) })
        #expect(childSpan.parentSpanID == childEnqueue.spanID)
        #expect(childSpan.links.first?.context.inMemorySpanContext?.spanID == childEnqueue.spanID)

        // The untraced job's span has no link and starts a trace of its own.
        let untracedSpan = try #require(spans.first { $0.operationName == "surety.job test.traced-child" && $0.attributes["surety.job.id"]?.toSpanAttribute() == .int64(untraced.rawValue) })
        #expect(untracedSpan.links.isEmpty)
        #expect(untracedSpan.parentSpanID == nil)
    }

    @Test("with attemptParent .worker, an attempt's span starts a trace of its own, only linked to the enqueue span")
    func workerParentedAttemptsAreLinkedOnly() async throws {
        let tracer = InMemoryTracer()
        let h = Harness(extraTypes: [TracedChildJob.self])
        let queue = JobQueue(store: h.store, registry: h.registry, clock: h.clock, tracing: TracingOptions(tracer: tracer))
        let request = tracer.startSpan("POST /signup", ofKind: .server)
        let id = try await ServiceContext.$current.withValue(request.context) {
            try await queue.enqueue(TracedChildJob(), tenant: acme).id
        }
        request.end()
        let enqueue = try #require(tracer.finishedSpans.first { $0.operationName == "surety.enqueue test.traced-child" })

        var configuration = WorkerConfiguration(workerID: "w1", onEvent: h.events.record)
        configuration.tracing = TracingOptions(tracer: tracer, attemptParent: .worker)
        let worker = Worker(store: h.store, registry: h.registry, configuration: configuration, clock: h.clock)
        try await h.running([worker]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
        }
        let attempt = try #require(tracer.finishedSpans.first { $0.operationName == "surety.job test.traced-child" })
        #expect(attempt.parentSpanID == nil, "a root span")
        #expect(attempt.traceID != request.traceID, "a trace of its own")
        #expect(attempt.links.first?.context.inMemorySpanContext?.spanID == enqueue.spanID)
        #expect(attempt.links.first?.context.inMemorySpanContext?.traceID == request.traceID)
    }

    @Test("the worker's line at an attempt's end is logged with the attempt's span context current (what swift-otel's log handler and metadata provider read)")
    func attemptEndLineCarriesTheAttemptSpan() async throws {
        let tracer = InMemoryTracer()
        let h = Harness(extraTypes: [TracedChildJob.self])
        let queue = JobQueue(store: h.store, registry: h.registry, clock: h.clock, tracing: TracingOptions(tracer: tracer))
        let id = try await queue.enqueue(TracedChildJob(), tenant: acme).id
        let lines = SpanContextLog()
        var configuration = WorkerConfiguration(workerID: "w1", onEvent: h.events.record)
        configuration.tracing = TracingOptions(tracer: tracer)
        let worker = Worker(store: h.store, registry: h.registry, configuration: configuration, clock: h.clock,
                            logger: Logger(label: "surety.worker") { _ in SpanContextLog.Handler(log: lines) })
        try await h.running([worker]) {
            try await h.events.first { $0.finished(id, attempt: 1) != nil }
        }
        let attempt = try #require(tracer.finishedSpans.first { $0.operationName == "surety.job test.traced-child" })
        let ended = try #require(lines.entries.first { $0.message == "job attempt finished" }, "\(lines.entries)")
        #expect(ended.spanID == attempt.spanID)
        #expect(ended.traceID == attempt.traceID)
    }

    private func attemptOf(_ span: FinishedInMemorySpan) -> Int64 {
        if case .int64(let value)? = span.attributes["surety.job.attempt"]?.toSpanAttribute() { return value }
        return 0
    }
}

/// Log lines with the in-memory span context current when each was logged.
final class SpanContextLog: Sendable {
    struct Entry: Sendable {
        var message: String
        var traceID: String?
        var spanID: String?
    }

    private let storage = Mutex<[Entry]>([])
    var entries: [Entry] { storage.withLock { $0 } }

    struct Handler: LogHandler {
        let log: SpanContextLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let span = ServiceContext.current?.inMemorySpanContext
            log.storage.withLock { $0.append(Entry(message: "\(event.message)", traceID: span?.traceID, spanID: span?.spanID)) }
        }
    }
}
