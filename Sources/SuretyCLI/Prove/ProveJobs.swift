import AsyncHTTPClient
import Foundation
import NIOCore
import Surety

/// The job types `surety prove` runs (`surety worker --prove-jobs`): each calls the prover's own
/// HTTP provider (``ProveProvider``) through the effect ledger, telling it which job, which
/// tenant the job runs for and which tenant the job was enqueued for, so the provider's records
/// show every duplicate, every concurrent run and every tenant mix-up, not the store's view.
enum ProveJobs {
    static let queue = "prove"
    static let types: [any Job.Type] = [ProveCharge.self, ProveNotify.self, ProveOnceDead.self]
    static var registry: JobRegistry { JobRegistry(types) }

    /// Short backoffs: a prove run waits for retries.
    static func options(maxAttempts: Int = 8) -> JobOptions {
        JobOptions(queue: queue, priority: 2, maxAttempts: maxAttempts,
                   backoff: .exponential(initial: .milliseconds(100), factor: 2, cap: .seconds(1), jitter: 0.2),
                   retryBudget: .seconds(600), timeout: .seconds(30))
    }

    /// POSTs to the provider; returns the body. A refused connection is surely not performed.
    static func post(_ url: String, headers: [(String, String)]) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request, expect: [200]).body
    }

    static func send(_ request: HTTPClientRequest, expect: Set<UInt>) async throws -> (status: UInt, body: String) {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw EffectNotPerformed(ProveProviderError(message: "the provider did not accept the connection"))
        }
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard expect.contains(response.status.code) else {
            throw ProveProviderError(message: "the provider answered \(response.status.code)")
        }
        return (response.status.code, body)
    }

    static func headers(_ context: JobContext, key: String, expectedTenant: String) -> [(String, String)] {
        [("Idempotency-Key", key), ("X-Job", "\(context.id)"), ("X-Tenant", context.tenant.rawValue),
         ("X-Expected-Tenant", expectedTenant), ("X-Worker", context.worker)]
    }
}

/// The provider failed (transient: the next attempt tries again).
struct ProveProviderError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `prove.charge`: one charge at the provider, which honours idempotency keys; an in-doubt
/// charge is reconciled by looking its key up.
struct ProveCharge: Job {
    static let name = "prove.charge"
    static let options = ProveJobs.options()
    var provider: String
    var tenant: String
    var amount: Int

    func run(_ context: JobContext) async throws {
        let charge = try await context.effect("charge", reconcile: { key in
            var request = HTTPClientRequest(url: "\(provider)/charges/\(key)")
            request.method = .GET
            let (status, body) = try await ProveJobs.send(request, expect: [200, 404])
            return status == 200 ? .happened(body) : .didNotHappen
        }, perform: { key in
            try await ProveJobs.post("\(provider)/charges", headers: ProveJobs.headers(context, key: key, expectedTenant: tenant))
        })
        guard !charge.isEmpty else { throw PermanentFailure("the provider returned an empty charge") }
    }
}

/// `prove.notify`: one notification at the provider, which does NOT honour idempotency keys:
/// an in-doubt notification must stop for a human (the default policy), never be sent twice.
struct ProveNotify: Job {
    static let name = "prove.notify"
    static let options = ProveJobs.options()
    var provider: String
    var tenant: String

    func run(_ context: JobContext) async throws {
        _ = try await context.effect("notify") { key in
            try await ProveJobs.post("\(provider)/notifications", headers: ProveJobs.headers(context, key: key, expectedTenant: tenant))
        }
    }
}

/// `prove.once_dead`: fails permanently on its first run (to the dead-letter inbox: the
/// provider answers "first" the first time it is asked about the job), then, requeued, charges
/// once.
struct ProveOnceDead: Job {
    static let name = "prove.once_dead"
    static let options = ProveJobs.options()
    var provider: String
    var tenant: String

    func run(_ context: JobContext) async throws {
        var request = HTTPClientRequest(url: "\(provider)/once/\(context.id)")
        request.method = .POST
        if try await ProveJobs.send(request, expect: [200]).body == "first" {
            throw PermanentFailure("prove: dead on its first run, to be requeued")
        }
        _ = try await context.effect("charge") { key in
            try await ProveJobs.post("\(provider)/charges", headers: ProveJobs.headers(context, key: key, expectedTenant: tenant))
        }
    }
}
