// Testing jobs with SuretyTesting's JobTesting (docs/testing.md): run one job, assert what was
// enqueued, drain a queue with a test clock. In a test target these checks are `#expect`s.
import Surety
import SuretyTesting
import Synchronization

/// A fake email provider: records what it sent, refuses the first `failures` sends.
final class Outbox: Sendable {
    private let state: Mutex<(failures: Int, sent: [String])>
    init(failures: Int = 0) { state = Mutex((failures, [])) }
    var sent: [String] { state.withLock { $0.sent } }
    func send(to userID: String, idempotencyKey: String) throws -> String {
        try state.withLock { state in
            if state.failures > 0 {
                state.failures -= 1
                throw EffectNotPerformed(SuretyError(.invalidArgument, "outbox unavailable"))
            }
            state.sent.append(userID)
            return "msg-\(state.sent.count)"
        }
    }
}

struct TrackEvent: Job {
    static let name = "app.track-event"
    static let options = JobOptions(queue: "analytics")
    var userID: String
    var event: String
    func run(_ context: JobContext) async throws {}
}

// snippet.job
struct SendWelcome: Job {
    static let name = "app.send-welcome"
    static let options = JobOptions(queue: "email", maxAttempts: 3,
                                    backoff: .exponential(initial: .seconds(10), factor: 2, cap: .seconds(100), jitter: 0.2))
    var userID: String

    func run(_ context: JobContext) async throws {
        let outbox = try context.dependency(Outbox.self)
        _ = try await context.effect("send", key: userID) { idempotencyKey in
            try outbox.send(to: userID, idempotencyKey: idempotencyKey)
        }
        try await context.enqueue(TrackEvent(userID: userID, event: "welcome-sent"))
    }
}
// snippet.end

let acme = try TenantID("acme")

do {
    // snippet.perform
    let outbox = Outbox()
    var dependencies = JobDependencies()
    dependencies.register(outbox)
    let testing = JobTesting(dependencies: dependencies)

    // Runs the job now, as a worker would, with its payload round-tripped through the codec.
    let run = try await testing.perform(SendWelcome(userID: "u1"), tenant: acme)
    precondition(run.succeeded && run.next == .completed)
    precondition(outbox.sent == ["u1"])
    let events = try run.followUps(TrackEvent.self)
    precondition(events.map(\.job.event) == ["welcome-sent"] && events[0].tenant == acme)
    // snippet.end
}

do {
    // snippet.enqueued
    let testing = JobTesting()
    try await testing.queue.enqueue(SendWelcome(userID: "u1"), tenant: acme)   // the code under test

    let welcomes = try await testing.enqueued(SendWelcome.self, tenant: acme)
    precondition(welcomes.map(\.job.userID) == ["u1"] && welcomes[0].queue == "email")
    // snippet.end
}

do {
    // snippet.drain
    let outbox = Outbox(failures: 1)
    var dependencies = JobDependencies()
    dependencies.register(outbox)
    let testing = JobTesting(types: [SendWelcome.self, TrackEvent.self], dependencies: dependencies)
    try await testing.queue.enqueue(SendWelcome(userID: "u1"), tenant: acme)

    // Runs every due job and its follow-ups, moving the test clock past the 10 s backoff.
    let result = try await testing.drain()
    precondition(result.runs.map(\.outcome) == [.failed, .succeeded, .succeeded])
    precondition(outbox.sent == ["u1"] && result.waiting.isEmpty)
    // snippet.end
}
