import PostgresNIO
import Surety

/// Plain successes (completed, no error, fenced on the lease token alone) recorded by one
/// prepared statement, ``JobTransitionSQL/finishCompletions``, without `BEGIN` and `COMMIT`: the
/// worker's common finish.
///
/// The general path (``PostgresStore/applyFinishes(_:_:notify:leaseTimes:logger:)``) is a
/// transaction of five round trips and three statements parsed and planned every time. For
/// plain successes it comes down to this one statement, which does the same (see its SQL's
/// comment for what it writes and why its plan holds as a generic plan).
struct FinishCompletions: PostgresPreparedStatement {
    static let name = "surety_finish_completions_v1"
    static let sql = JobTransitionSQL.finishCompletions

    typealias Row = Int64

    /// Returned instead of ids when a job is an active workflow step (nothing was changed).
    static let blockedMarker: Int64 = -1

    let ids: [Int64]
    let tokens: [Int64]
    let finishedAt: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(ids)
        bindings.append(tokens)
        bindings.append(finishedAt)
        bindings.append(JobState.running.rawValue)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }
}
