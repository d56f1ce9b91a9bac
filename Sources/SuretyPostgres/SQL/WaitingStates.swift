import Surety

/// The SQL condition "the job waits to be claimed": the states of ``Surety/JobState/claimable``
/// (scheduled, available, retrying). SQLite spells the same list in
/// Sources/SuretySQLite/SQL/WaitingStates.swift.
///
/// The text is `state IN ('scheduled', 'available', 'retrying')`, the order of
/// `JobState.claimable`, as the migrations wrote the partial indexes' predicates
/// (PostgreSQL matches a query's WHERE to an index predicate it implies).
enum WaitingStates {
    static let condition = condition(of: nil)

    /// The condition on the columns of table alias `alias` (`j.state IN (...)`).
    static func condition(of alias: String?) -> String {
        let column = alias.map { "\($0).state" } ?? "state"
        return "\(column) IN (" + JobState.claimable.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }
}
