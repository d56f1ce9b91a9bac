// Test hooks of the example, each off unless its variable is set.
import Foundation
import Surety

enum ShopTestHooks {
    /// `SHOP_FAIL_FIRST_SEND=1`: the welcome email's first attempt fails with a transient error
    /// before sending, so its retry can be seen (OpenTelemetryTests follows both attempts).
    static let failFirstSend = ProcessInfo.processInfo.environment["SHOP_FAIL_FIRST_SEND"] == "1"

    /// The error of a first send that `SHOP_FAIL_FIRST_SEND` fails.
    struct OutboxUnavailable: Error, CustomStringConvertible {
        var description: String { "the outbox is unavailable (SHOP_FAIL_FIRST_SEND)" }
    }

    /// Throws ``OutboxUnavailable`` on the job's first attempt when `SHOP_FAIL_FIRST_SEND=1`.
    static func failFirstSendIfAsked(_ context: JobContext) throws {
        if failFirstSend, context.attempt == 1 { throw OutboxUnavailable() }
    }
}
