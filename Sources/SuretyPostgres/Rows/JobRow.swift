import Foundation
import PostgresNIO
import Surety

/// Reading `surety_jobs` rows. Every query that decodes a job selects ``columns`` in this order
/// and decodes by index.
enum JobRow {
    static let columns = """
        id, type, queue, priority, tenant, state, payload, attempt, max_attempts, run_at, enqueued_at, \
        first_attempt_at, attempted_at, attempted_by, lease_token, lease_until, finished_at, \
        last_error_type, last_error_message, last_error_class, dead_reason, unique_key, unique_scope, \
        tags::text, correlation::text, note, partition_key, trace_context
        """

    /// A job row and the current lease token (which `JobRecord` does not carry).
    struct Decoded {
        var record: JobRecord
        var leaseToken: Int64?
    }

    static func decode(_ row: PostgresRandomAccessRow) throws -> Decoded {
        let id = JobID(try row[0].decode(Int64.self))
        let stateText = try row[5].decode(String.self)
        guard let state = JobState(rawValue: stateText) else {
            throw SuretyError(.storeCorrupt, "job \(id) has an unknown state '\(stateText)' in surety_jobs; it was written by a newer Surety or by hand")
        }
        var lastError: AttemptError?
        if let type = try row[17].decode(String?.self) {
            lastError = AttemptError(type: type, message: try row[18].decode(String?.self) ?? "", errorClass: errorClass(try row[19].decode(String?.self)))
        }
        let record = JobRecord(
            id: id,
            type: try row[1].decode(String.self),
            queue: try row[2].decode(String.self),
            priority: try row[3].decode(Int.self),
            tenant: TenantID(unchecked: try row[4].decode(String.self)),
            state: state,
            payload: try row[6].decode(String.self),
            attempt: try row[7].decode(Int.self),
            maxAttempts: try row[8].decode(Int.self),
            runAt: Timestamp.date(try row[9].decode(Int64.self)),
            enqueuedAt: Timestamp.date(try row[10].decode(Int64.self)),
            firstAttemptAt: Timestamp.dateIfPresent(try row[11].decode(Int64?.self)),
            attemptedAt: Timestamp.dateIfPresent(try row[12].decode(Int64?.self)),
            attemptedBy: try row[13].decode(String?.self),
            leaseUntil: Timestamp.dateIfPresent(try row[15].decode(Int64?.self)),
            finishedAt: Timestamp.dateIfPresent(try row[16].decode(Int64?.self)),
            lastError: lastError,
            deadReason: (try row[20].decode(String?.self)).flatMap(DeadReason.init(rawValue:)),
            uniqueKey: try row[21].decode(String?.self),
            uniqueScope: UniqueScope(rawValue: try row[22].decode(String.self)) ?? .whileActive,
            tags: JSONColumns.decodeTags(try row[23].decode(String?.self)),
            correlation: JSONColumns.decodeCorrelation(try row[24].decode(String?.self)),
            note: try row[25].decode(String?.self),
            partitionKey: try row[26].decode(String?.self),
            traceContext: JSONColumns.decodeCorrelation(try row[27].decode(String?.self))
        )
        return Decoded(record: record, leaseToken: try row[14].decode(Int64?.self))
    }

    /// An unknown class (written by hand or by a newer version) reads as transient.
    static func errorClass(_ text: String?) -> ErrorClass {
        text.flatMap(ErrorClass.init(rawValue:)) ?? .transient
    }
}
