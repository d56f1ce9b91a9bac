import Foundation
import Surety

/// What one attempt run by ``JobTesting`` did: how it ended, where the job went, what it left in
/// the store.
public struct JobRun: Sendable {
    /// The job's id in the test store.
    public let id: JobID
    /// The job's type name (`Job.name`).
    public let type: String
    /// The tenant the attempt ran for.
    public let tenant: TenantID
    /// The attempt's number, 1 for the first.
    public let attempt: Int
    /// What `run` threw, as thrown; `nil` when it returned.
    public let error: (any Error)?
    /// How the attempt ended, as a `Worker` would record it.
    public let outcome: AttemptOutcome
    /// Where the job went: completed, a retry at a time, a reschedule (snooze), the dead-letter
    /// inbox with a reason, or cancelled.
    public let next: NextState
    /// The error as recorded in the attempt's history (classified, secrets scrubbed); `nil` for
    /// a success or a snooze.
    public let recordedError: AttemptError?
    /// The job's stored row after the attempt was recorded.
    public let record: JobRecord
    /// The jobs inserted while the attempt ran (follow-ups the job enqueued, in any tenant),
    /// oldest first. A follow-up whose unique key another job already held inserts nothing and
    /// is not listed.
    public let followUps: [JobRecord]
    /// The job's effect ledger after the attempt (`JobContext.effect(_:key:policy:reconcile:perform:)`),
    /// oldest first. Empty when the store has no ledger.
    public let effects: [EffectRecord]

    /// `true` when `run` returned normally.
    public var succeeded: Bool { outcome == .succeeded }

    /// The follow-ups of type `J`, decoded so a test can check their payload fields.
    /// - Throws: ``JobTestingError/payloadDoesNotDecode(type:detail:)``.
    public func followUps<J: Job>(_ type: J.Type) throws -> [StoredJob<J>] {
        try followUps.filter { $0.type == J.name }.map { try StoredJob(decoding: $0) }
    }
}

/// A stored job decoded as its type: the payload as a value of `J` (``job``) and the stored row
/// (``record``), whose fields are also readable directly (`stored.queue`, `stored.runAt`).
@dynamicMemberLookup
public struct StoredJob<J: Job>: Sendable {
    /// The payload, decoded with `JobCoding` as a worker would.
    public let job: J
    /// The stored row: queue, priority, tenant, state, run time, unique key and scope, tags...
    public let record: JobRecord

    /// Decodes `record`'s payload as `J`.
    /// - Throws: ``JobTestingError/payloadDoesNotDecode(type:detail:)`` (the detail names where
    ///   decoding failed, never a value).
    public init(decoding record: JobRecord) throws {
        do {
            job = try JobCoding.decode(J.self, from: record.payload)
        } catch {
            throw JobTestingError.payloadDoesNotDecode(type: J.name, detail: JobQueue.describeDecoding(error))
        }
        self.record = record
    }

    /// A field of the stored row.
    public subscript<T>(dynamicMember keyPath: KeyPath<JobRecord, T>) -> T {
        record[keyPath: keyPath]
    }
}

/// What ``JobTesting/drain(queues:advancingClock:maxRuns:)`` did.
public struct DrainResult: Sendable {
    /// Every attempt, in the order they ran.
    public let runs: [JobRun]
    /// The jobs of the drained queues still waiting when the drain stopped (scheduled later,
    /// with the clock not advanced; or held back by queue limits), oldest first.
    public let waiting: [JobRecord]

    /// How many attempts ended with `outcome`.
    public func count(_ outcome: AttemptOutcome) -> Int {
        runs.filter { $0.outcome == outcome }.count
    }

    /// The attempts that completed their job.
    public var completed: [JobRun] { runs.filter { $0.next == .completed } }

    /// The attempts that sent their job to the dead-letter inbox.
    public var dead: [JobRun] {
        runs.filter { if case .dead = $0.next { true } else { false } }
    }
}

/// Why a ``JobTesting`` helper could not do what a test asked. The test's own job errors are not
/// thrown: they are in ``JobRun/error``.
public enum JobTestingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A field of the job does not survive the payload's encoding and decoding: the job a worker
    /// runs would differ from the one enqueued. `before` and `after` are the field's values
    /// (`[REDACTED]` for a secret field).
    case payloadDoesNotRoundTrip(type: String, field: String, before: String, after: String)
    /// A payload does not decode as its type.
    case payloadDoesNotDecode(type: String, detail: String)
    /// ``JobTesting/perform(_:tenant:attempt:options:checkRoundTrip:)`` found other jobs due in
    /// the job's queue, which a claim could take first.
    case otherJobsDue(queue: String, jobs: [JobID])
    /// The job's unique key is held by another job, so nothing was inserted to run.
    case uniqueKeyHeld(key: String, holder: JobID)
    /// The queue's load shedding dropped the job.
    case dropped(queue: String)
    /// The store did not hand out the job (its queue is paused or limited).
    case notClaimed(JobID, queue: String)
    /// An attempt number outside 1...maxAttempts.
    case invalidAttempt(Int, maxAttempts: Int)
    /// A due job's type is not among ``JobTesting``'s types (the job was put back unchanged).
    case unregisteredType(String)
    /// The drain ran `maxRuns` attempts and jobs were still due: probably a job that snoozes or
    /// re-enqueues itself for ever.
    case drainLimitReached(maxRuns: Int)
    /// The store refused the attempt's outcome: its lease was no longer held.
    case outcomeRefused(JobID)

    /// What went wrong and what to do about it, in one sentence.
    public var description: String {
        switch self {
        case let .payloadDoesNotRoundTrip(type, field, before, after):
            return "the payload of \(type) does not survive its encoding: '\(field)' was \(before) before and is \(after) after a round trip through JobCoding (JSON, sorted keys, ISO 8601 dates in whole seconds)"
        case let .payloadDoesNotDecode(type, detail):
            return "the payload does not decode as \(type): \(detail)"
        case let .otherJobsDue(queue, jobs):
            return "queue '\(queue)' has other jobs due (\(jobs.map { "\($0)" }.joined(separator: ", "))) that a claim could take first; drain them, or perform in a fresh JobTesting"
        case let .uniqueKeyHeld(key, holder):
            return "unique key '\(key)' is held by job \(holder); nothing was inserted to run"
        case let .dropped(queue):
            return "queue '\(queue)' is full and dropped the job"
        case let .notClaimed(id, queue):
            return "job \(id) could not be claimed from queue '\(queue)' (is the queue paused or limited?)"
        case let .invalidAttempt(attempt, maxAttempts):
            return "attempt must be between 1 and the job's maxAttempts (\(maxAttempts)), got \(attempt)"
        case let .unregisteredType(type):
            return "job type '\(type)' is due but not among the JobTesting's types; pass it in types:"
        case let .drainLimitReached(maxRuns):
            return "the drain ran \(maxRuns) attempts and jobs were still due (a job that snoozes or re-enqueues itself for ever?)"
        case let .outcomeRefused(id):
            return "the store refused the outcome of job \(id): its lease was no longer held"
        }
    }
}
