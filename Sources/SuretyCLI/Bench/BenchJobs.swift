import Foundation
import Surety

/// What the benchmark's jobs do: nothing (`demo.noop`), record one effect on the ledger, or
/// nothing with a 1 KB payload. Each shows what one guarantee or one size costs.
enum BenchWorkload: String, CaseIterable, Codable, Sendable {
    case noop
    case effect
    case payload1k

    /// The job types a bench worker registers.
    static var registry: JobRegistry { JobRegistry([DemoNoop.self, BenchEffect.self, BenchPayload.self]) }

    /// `count` jobs of this workload as `NewJob` rows, built as `JobQueue` builds them, from a
    /// payload encoded once (the store-level bulk figure measures the store, not JSON encoding).
    func newJobs(_ count: Int, now: Date) throws -> [NewJob] {
        func rows<J: Job>(_ job: J) throws -> [NewJob] {
            let payload = try JobCoding.encode(job)
            let options = J.options
            let row = NewJob(
                type: J.name, queue: options.queue, priority: options.priority, tenant: .system, payload: payload,
                runAt: now, enqueuedAt: now, maxAttempts: options.maxAttempts, uniqueScope: options.uniqueScope
            )
            return Array(repeating: row, count: count)
        }
        switch self {
        case .noop: return try rows(DemoNoop())
        case .effect: return try rows(BenchEffect())
        case .payload1k: return try rows(BenchPayload.oneKilobyte)
        }
    }

    /// Enqueues `count` jobs in one call of the public client (`JobQueue.enqueue([J])`, which
    /// encodes each payload).
    func enqueueMany(_ count: Int, _ queue: JobQueue) async throws {
        switch self {
        case .noop: try await queue.enqueue(Array(repeating: DemoNoop(), count: count), tenant: .system)
        case .effect: try await queue.enqueue(Array(repeating: BenchEffect(), count: count), tenant: .system)
        case .payload1k: try await queue.enqueue(Array(repeating: BenchPayload.oneKilobyte, count: count), tenant: .system)
        }
    }

    /// Enqueues one job through the public client (the one-at-a-time path).
    func enqueueOne(_ queue: JobQueue) async throws {
        switch self {
        case .noop: try await queue.enqueue(DemoNoop(), tenant: .system)
        case .effect: try await queue.enqueue(BenchEffect(), tenant: .system)
        case .payload1k: try await queue.enqueue(BenchPayload.oneKilobyte, tenant: .system)
        }
    }
}

/// `bench.effect` `{}`: records one effect on the effect ledger (begin, a no-op perform, confirm).
struct BenchEffect: Job {
    static let name = "bench.effect"
    static let options = DemoJobs.options(priority: 5)

    func run(_ context: JobContext) async throws {
        let _: Int = try await context.effect("record") { _ in 1 }
    }
}

/// `bench.payload` `{"data": "..."}`: does nothing; carries a payload of about 1 KB.
struct BenchPayload: Job {
    static let name = "bench.payload"
    static let options = DemoJobs.options(priority: 5)
    var data: String

    /// A payload whose JSON encoding is 1,024 bytes.
    static let oneKilobyte = BenchPayload(data: String(repeating: "x", count: 1024 - #"{"data":""}"#.count))

    func run(_ context: JobContext) async throws {}
}
