// The README's five-minute tour, as a program that builds in CI.
// Run it: swift run QuickStart   (enqueues a job, runs a worker until the job is done, exits)
import Foundation
import Logging
import ServiceLifecycle
import Surety
import SuretySQLite

// 1. Define a job: a Codable value with a stable name and a `run`.
struct SendWelcomeEmail: Job {
    static let name = "app.welcome-email"
    static let options = JobOptions(queue: "email", maxAttempts: 5, timeout: .seconds(30))
    static let secretFields: Set<String> = ["unsubscribeToken"]

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

@main
struct QuickStart {
    static func main() async throws {
        // 2. Open the embedded store: one SQLite file.
        let store = try SQLiteStore(path: "quickstart.sqlite")
        try await store.migrate()

        // 3. Register job types and enqueue. The tenant is required: `.system` is an explicit choice.
        let registry = JobRegistry([SendWelcomeEmail.self])
        let queue = JobQueue(store: store, registry: registry)
        let job = try await queue.enqueue(
            SendWelcomeEmail(userID: "u-42", address: "ada@example.com", unsubscribeToken: "tok-123"),
            tenant: try TenantID("acme"),
            options: EnqueueOptions(uniqueKey: "welcome:u-42", correlation: ["user_id": "u-42"])
        )
        print("enqueued job \(job.id) (new: \(job.inserted))")

        // 4. Run a worker as a ServiceLifecycle service. Here it stops once the job is done;
        //    in an app it runs until SIGTERM, then drains gracefully.
        let logger = Logger(label: "quickstart")
        let done = AsyncStream<Void>.makeStream()
        let worker = Worker(
            store: store, registry: registry,
            configuration: WorkerConfiguration(queues: ["email"], concurrency: 4, onEvent: { event in
                if case .attemptFinished(job.id, _, _, _, _) = event { done.continuation.yield() }
            })
        )
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for await _ in done.stream { break }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let record = try await store.job(job.id)
        print("job \(job.id) is \(record?.state.rawValue ?? "missing") after \(record?.attempt ?? 0) attempt(s)")
    }
}
