import Foundation
import PostgresNIO
import Surety

/// How lease deadlines become SQL under the store's ``PostgresStore/LeaseClock``: one place for
/// the claim, heartbeat, rescue and the rescuer's finish condition.
///
/// A deadline is written as `$lease + $onDatabaseClock * <server microseconds>`: on the database
/// clock `$lease` is the lease's duration and the factor 1, on the caller's clock `$lease` is the
/// caller's deadline and the factor 0. So one statement text (and one prepared statement) serves
/// both.
struct LeaseTimes: Sendable {
    /// The server's current time in microseconds since 1970, read at each statement's execution.
    static let serverNowSQL = "(extract(epoch from clock_timestamp()) * 1000000)::int8"

    let clock: PostgresStore.LeaseClock

    /// The value bound for a deadline `until` given at the caller's `now`.
    func lease(now: Date, until: Date) -> Int64 {
        switch clock {
        case .database: Timestamp.micros(until) - Timestamp.micros(now)
        case .caller: Timestamp.micros(until)
        }
    }

    /// The factor bound beside ``lease(now:until:)``.
    var onDatabaseClock: Int64 { clock == .database ? 1 : 0 }

    /// The SQL of "the time by which a lease has expired" for the rescuer whose clock says `now`:
    /// the server's time on the database clock, `now` on the caller's.
    func expiryCutoffSQL(now: Date) -> String {
        switch clock {
        case .database: Self.serverNowSQL
        case .caller: "\(Timestamp.micros(now))"
        }
    }
}
