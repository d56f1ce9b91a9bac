// Getting started: define a job, open the embedded store, enqueue for a tenant, run everything a
// process runs for its jobs as one ServiceLifecycle service. The README's tour (Examples/QuickStart).
import Logging
import ServiceLifecycle
import Surety
import SuretySQLite

// snippet.job
// A job is a Codable value with a stable name and a `run`.
struct SendWelcomeEmail: Job {
    static let name = "app.welcome-email"
    static let options = JobOptions(queue: "email", maxAttempts: 5, timeout: .seconds(30))
    static let secretFields: Set<String> = ["unsubscribeToken"]   // redacted everywhere

    var userID: String
    var address: String
    var unsubscribeToken: String

    func run(_ context: JobContext) async throws {
        // The same key on every attempt: hand it to the provider so a retry cannot send twice.
        let key = context.idempotencyKey("send-welcome")
        context.logger.info("sending welcome email", metadata: ["idempotency_key": "\(key)"])
        guard address.contains("@") else { throw PermanentFailure("not an email address") }
    }
}
// snippet.end

// snippet.store
// One SQLite file is the whole store.
let store = try SQLiteStore(path: "quickstart.sqlite")
try await store.migrate()
// snippet.end

// snippet.enqueue
// The tenant is required (`.system` is an explicit choice); a unique key makes the enqueue
// idempotent; correlation ids appear in every log line of every attempt.
let registry = JobRegistry([SendWelcomeEmail.self])
let queue = JobQueue(store: store, registry: registry)
let enqueued = try await queue.enqueue(
    SendWelcomeEmail(userID: "u-42", address: "ada@example.com", unsubscribeToken: "tok-123"),
    tenant: try TenantID("acme"),
    options: EnqueueOptions(uniqueKey: "welcome:u-42", correlation: ["user_id": "u-42"])
)
print("enqueued job \(enqueued.id) (new: \(enqueued.inserted))")
// snippet.end

// snippet.run
// Workers, schedules, retention and queue-depth gauges as one service; SIGTERM drains them.
let surety = try SuretyService(
    store: store, registry: registry,
    configuration: .init(worker: WorkerConfiguration(queues: ["email"]))
)
let logger = Logger(label: "app")
try await ServiceGroup(services: [surety], gracefulShutdownSignals: [.sigterm], logger: logger).run()
// snippet.end
