import Foundation
import GRDB
import Surety

/// Reading `surety_jobs` rows. Every query that decodes a job selects ``columns`` in this order,
/// and decodes by index (the fast path in GRDB).
enum JobRow {
    static let columns = """
        id, type, queue, priority, tenant, state, payload, attempt, max_attempts, run_at, enqueued_at, \
        first_attempt_at, attempted_at, attempted_by, lease_token, lease_until, finished_at, \
        last_error_type, last_error_message, last_error_class, dead_reason, unique_key, unique_scope, \
        tags, correlation, note, partition_key, trace_context
        """

    /// A job row and the current lease token (which `JobRecord` does not carry).
    struct Decoded {
        var record: JobRecord
        var leaseToken: Int64?
    }

    static func decode(_ row: Row) throws -> Decoded {
        let id = JobID(try row.decode(Int64.self, atIndex: 0))
        let stateText = try row.decode(String.self, atIndex: 5)
        guard let state = JobState(rawValue: stateText) else {
            throw SuretyError(
                .storeCorrupt,
                "job \(id) has an unknown state '\(stateText)' in surety_jobs; it was written by a newer Surety or by hand"
            )
        }
        var lastError: AttemptError?
        if let type = try row.decode(String?.self, atIndex: 17) {
            lastError = AttemptError(
                type: type,
                message: try row.decode(String?.self, atIndex: 18) ?? "",
                errorClass: errorClass(try row.decode(String?.self, atIndex: 19))
            )
        }
        let record = JobRecord(
            id: id,
            type: try row.decode(String.self, atIndex: 1),
            queue: try row.decode(String.self, atIndex: 2),
            priority: try row.decode(Int.self, atIndex: 3),
            tenant: TenantID(unchecked: try row.decode(String.self, atIndex: 4)),
            state: state,
            payload: try row.decode(String.self, atIndex: 6),
            attempt: try row.decode(Int.self, atIndex: 7),
            maxAttempts: try row.decode(Int.self, atIndex: 8),
            runAt: Timestamp.date(try row.decode(Int64.self, atIndex: 9)),
            enqueuedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 10)),
            firstAttemptAt: Timestamp.dateIfPresent(try row.decode(Int64?.self, atIndex: 11)),
            attemptedAt: Timestamp.dateIfPresent(try row.decode(Int64?.self, atIndex: 12)),
            attemptedBy: try row.decode(String?.self, atIndex: 13),
            leaseUntil: Timestamp.dateIfPresent(try row.decode(Int64?.self, atIndex: 15)),
            finishedAt: Timestamp.dateIfPresent(try row.decode(Int64?.self, atIndex: 16)),
            lastError: lastError,
            deadReason: (try row.decode(String?.self, atIndex: 20)).flatMap(DeadReason.init(rawValue:)),
            uniqueKey: try row.decode(String?.self, atIndex: 21),
            uniqueScope: UniqueScope(rawValue: try row.decode(String.self, atIndex: 22)) ?? .whileActive,
            tags: JSONColumns.decodeTags(try row.decode(String?.self, atIndex: 23)),
            correlation: JSONColumns.decodeCorrelation(try row.decode(String?.self, atIndex: 24)),
            note: try row.decode(String?.self, atIndex: 25),
            partitionKey: try row.decode(String?.self, atIndex: 26),
            traceContext: JSONColumns.decodeCorrelation(try row.decode(String?.self, atIndex: 27))
        )
        return Decoded(record: record, leaseToken: try row.decode(Int64?.self, atIndex: 14))
    }

    /// An unknown class (written by hand or by a newer version) reads as transient: the
    /// conservative choice, it never hides a job from retries.
    static func errorClass(_ text: String?) -> ErrorClass {
        text.flatMap(ErrorClass.init(rawValue:)) ?? .transient
    }
}
