import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The outside world of a prove run: a small HTTP provider the prover runs itself, so that what
/// happened is read from the provider's own records, not inferred from the store.
///
/// - `POST /charges` honours the `Idempotency-Key` header: a key seen before gets the first
///   answer again, and the charge is performed once.
/// - `GET /charges/{key}` answers 200 with the charge a key made, 404 when none.
/// - `POST /notifications` does not honour keys: every request is performed.
/// - `POST /once/{job}` answers "first" the first time it is asked about a job, then "again".
///
/// Every request also carries the job id (`X-Job`), the tenant the job ran for (`X-Tenant`) and
/// the tenant it was enqueued for (`X-Expected-Tenant`). The provider holds each request for a
/// few milliseconds while it counts the requests of the same job in progress: two at once is a
/// concurrent run, observed.
final class ProveProvider: Sendable {
    /// One performed effect.
    struct Performance: Sendable {
        var kind: String
        var job: Int64
        var key: String
        var tenant: String
        var expectedTenant: String
    }

    struct Records: Sendable {
        var performances: [Performance] = []
        /// Charges by idempotency key: the id the first request got.
        var charges: [String: String] = [:]
        var inFlight: [Int64: Int] = [:]
        /// Jobs that had two requests in progress at once.
        var concurrentJobs: Set<Int64> = []
        var replays = 0
        var reconciledFound = 0
        var requests = 0
        /// Jobs asked about by `POST /once/{job}`.
        var onceAsked: Set<String> = []
    }

    private let records = Mutex(Records())

    var snapshot: Records { records.withLock { $0 } }

    /// Forgets everything (between scenarios of one run).
    func reset() { records.withLock { $0 = Records() } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("charges") { request, _ -> Response in
            try await self.handle(request, kind: "charge", honoursKeys: true)
        }
        router.get("charges/:key") { _, context -> Response in
            let key = try context.parameters.require("key")
            let charge = self.records.withLock { records -> String? in
                let charge = records.charges[key]
                if charge != nil { records.reconciledFound += 1 }
                return charge
            }
            guard let charge else { return Response(status: .notFound) }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: charge)))
        }
        router.post("once/:job") { _, context -> Response in
            let job = try context.parameters.require("job")
            let first = self.records.withLock { $0.onceAsked.insert(job).inserted }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: first ? "first" : "again")))
        }
        router.post("notifications") { request, _ -> Response in
            try await self.handle(request, kind: "notify", honoursKeys: false)
        }
        return router
    }

    private func handle(_ request: Request, kind: String, honoursKeys: Bool) async throws -> Response {
        let headers = request.headers
        guard let key = headers[.init("Idempotency-Key")!], let job = headers[.init("X-Job")!].flatMap({ Int64($0) }) else {
            return Response(status: .badRequest)
        }
        let tenant = headers[.init("X-Tenant")!] ?? ""
        let expected = headers[.init("X-Expected-Tenant")!] ?? ""
        records.withLock { records in
            records.requests += 1
            records.inFlight[job, default: 0] += 1
            if records.inFlight[job, default: 0] > 1 { records.concurrentJobs.insert(job) }
        }
        // The provider's own latency: the window in which a second run of the job would overlap.
        try? await Task.sleep(for: .milliseconds(5))
        let answer = records.withLock { records -> String in
            records.inFlight[job, default: 1] -= 1
            if honoursKeys, let first = records.charges[key] {
                records.replays += 1
                return first
            }
            let id = "\(kind)_\(records.performances.count + 1)"
            records.performances.append(Performance(kind: kind, job: job, key: key, tenant: tenant, expectedTenant: expected))
            if honoursKeys { records.charges[key] = id }
            return id
        }
        return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
    }

    /// Runs the provider on 127.0.0.1 (a free port) while `body` runs; `body` gets its base URL.
    func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "surety.prove.provider", factory: { _ in SwiftLogNoOpLogHandler() })
        let app = Application(router: router(), configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await group.triggerGracefulShutdown()
                throw ProveProviderError(message: "the prove provider could not listen on 127.0.0.1")
            }
            do {
                let value = try await body("http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
