import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Surety
import SuretyCLI
import SuretyDashboard
import SuretySQLite
import Testing

/// A temporary folder per test, removed when the value is released.
final class TempDir: Sendable {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("surety-dashboard-tests")
        path = (base as NSString).appendingPathComponent("\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The values planted in the fixture, so tests can look for them (or for their absence).
enum Planted {
    static let secret = "sk_live_PLANTED_SECRET_42"
    static let scriptSubject = "<script>alert('subject')</script><b>bold</b>"
    static let scriptError = "provider said <img src=x onerror=alert(1)><script>alert(\"error\")</script>"
    static let adminToken = "admin-token-0123456789"
    static let acmeToken = "acme-token-0123456789"
}

/// A real SQLite store seeded with a day of history: completed, retried and dead jobs across
/// queues and tenants, one dead job whose payload and error carry HTML and script, and a
/// scheduled job. Deterministic for a given seed.
struct Fixture {
    let dir: TempDir
    let store: SQLiteStore
    let now: Date
    /// The dead `demo.email` job of tenant acme whose payload and error contain HTML.
    var scriptJob: JobID
    /// A dead job of tenant globex.
    var globexDeadJob: JobID
    var scheduledJob: JobID

    static let tenantAcme = TenantID(unchecked: "acme")
    static let tenantGlobex = TenantID(unchecked: "globex")

    static func make(history: Int = 60, seed: UInt64 = 7, name: String = #function) async throws -> Fixture {
        let dir = try TempDir(name)
        let store = try SQLiteStore(path: dir.file("store.sqlite"), configuration: SQLiteStore.Configuration(synchronous: .normal))
        try await store.migrate()
        let now = Date()
        var random = SeededRandom(seed: seed)
        // History: finished jobs spread over the last day, denser in the last hour.
        for index in 0..<history {
            let age = index % 3 == 0 ? Double(random.next() % 3500) + 30 : Double(random.next() % 86000) + 60
            let queue = ["default", "email", "payments"][index % 3]
            let type = ["demo.noop", "demo.email", "demo.payment"][index % 3]
            let tenant = index % 2 == 0 ? tenantAcme : tenantGlobex
            let fails = random.next() % 10 == 0
            _ = try await runJob(store, type: type, queue: queue, tenant: tenant, payload: payload(type, index: index),
                                 at: now.addingTimeInterval(-age), duration: Double(random.next() % 900) / 1000 + 0.01,
                                 retries: Int(random.next() % 3), dead: fails ? "ProviderError" : nil,
                                 message: fails ? "502 from provider (request \(index))" : nil)
        }
        let scriptJob = try await runJob(store, type: "demo.email", queue: "email", tenant: tenantAcme,
                                         payload: #"{"to":"ops@acme.example","subject":\#(jsonString(Planted.scriptSubject)),"secret":"\#(Planted.secret)"}"#,
                                         at: now.addingTimeInterval(-120), duration: 0.4, retries: 1, dead: "HTMLError",
                                         message: Planted.scriptError)
        let globexDeadJob = try await runJob(store, type: "demo.payment", queue: "payments", tenant: tenantGlobex,
                                             payload: #"{"from":"acct-1","to":"acct-2","amount":10,"secret":"\#(Planted.secret)"}"#,
                                             at: now.addingTimeInterval(-300), duration: 0.2, retries: 0, dead: "LedgerError",
                                             message: "insufficient funds in acct-1")
        let scheduled = try await store.enqueue([NewJob(type: "demo.noop", queue: "default", priority: 2, tenant: tenantAcme, payload: "{}",
                                                        runAt: now.addingTimeInterval(3600), enqueuedAt: now, maxAttempts: 3)])
        return Fixture(dir: dir, store: store, now: now, scriptJob: scriptJob, globexDeadJob: globexDeadJob, scheduledJob: scheduled[0].id)
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
    }

    static func payload(_ type: String, index: Int) -> String {
        switch type {
        case "demo.email": #"{"to":"user\#(index)@example.com","subject":"Welcome \#(index)","secret":"\#(Planted.secret)"}"#
        case "demo.payment": #"{"from":"acct-\#(index)","to":"acct-2","amount":\#(index),"secret":"\#(Planted.secret)"}"#
        default: "{}"
        }
    }

    /// Enqueues one job at `at` and runs it through `retries` failed attempts, then to completion
    /// or (with `dead`) to the dead-letter inbox, with the store's real transitions.
    static func runJob(_ store: SQLiteStore, type: String, queue: String, tenant: TenantID, payload: String, at: Date,
                       duration: Double, retries: Int, dead: String?, message: String?) async throws -> JobID {
        let enqueued = try await store.enqueue([NewJob(type: type, queue: queue, priority: 2, tenant: tenant, payload: payload,
                                                       runAt: at.addingTimeInterval(-Double(retries) * 2 - duration - 1),
                                                       enqueuedAt: at.addingTimeInterval(-Double(retries) * 2 - duration - 1), maxAttempts: 5)])
        let id = enqueued[0].id
        var time = at.addingTimeInterval(-Double(retries) * 2 - duration - 0.5)
        for attempt in 0...retries {
            let claimed = try await store.claim(ClaimRequest(queues: [queue], limit: 1, worker: "worker-\(attempt % 2 + 1)", now: time,
                                                             leaseUntil: time.addingTimeInterval(30)))
            try #require(claimed.count == 1 && claimed[0].id == id)
            let end = time.addingTimeInterval(duration)
            let last = attempt == retries
            let finish: AttemptFinish
            if !last {
                finish = AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-\(attempt % 2 + 1)", startedAt: time,
                                       endedAt: end, outcome: .failed,
                                       error: AttemptError(type: "TimeoutError", message: "timed out talking to provider", errorClass: .transient),
                                       next: .retry(at: end.addingTimeInterval(1)))
            } else if let dead {
                finish = AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-\(attempt % 2 + 1)", startedAt: time,
                                       endedAt: end, outcome: .failed,
                                       error: AttemptError(type: dead, message: message ?? "failed", errorClass: .permanent),
                                       next: .dead(.permanentError))
            } else {
                finish = AttemptFinish(lease: claimed[0].lease, attempt: claimed[0].attempt, worker: "worker-\(attempt % 2 + 1)", startedAt: time,
                                       endedAt: end, outcome: .succeeded, next: .completed)
            }
            let results = try await store.finish([finish])
            try #require(results == [.applied])
            time = end.addingTimeInterval(1.5)
        }
        return id
    }

    func dashboard(readOnly: Bool = false, anonymous: Bool = false, basePath: String = "",
                   metrics: PrometheusCollectorRegistry? = nil) throws -> Dashboard {
        let credentials = anonymous ? [] : [
            try DashboardCredential(token: Planted.adminToken),
            try DashboardCredential(token: Planted.acmeToken, tenant: Self.tenantAcme),
        ]
        return Dashboard(store: store, registry: DemoJobs.registry,
                         configuration: DashboardConfiguration(credentials: credentials, readOnly: readOnly,
                                                               allowAnonymousReadOnly: anonymous, basePath: basePath),
                         metrics: metrics)
    }
}

/// splitmix64: the fixture's seeded randomness.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
    /// The value of a cookie set by this response.
    func cookie(_ name: String) -> String? {
        for value in headers[values: .setCookie] {
            let first = value.split(separator: ";").first ?? ""
            let pair = first.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name { return String(pair[1]) }
        }
        return nil
    }
}

func bearer(_ token: String = Planted.adminToken) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func basic(_ user: String, _ token: String) -> HTTPFields {
    [.authorization: "Basic " + Data("\(user):\(token)".utf8).base64EncodedString()]
}

/// The `csrf` hidden field's value in a page.
func csrfField(in html: String) -> String? {
    guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
    let rest = html[range.upperBound...]
    return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
}
