import Foundation
import Surety

/// ERROR in docs/cli.md: `{"type", "message", "class"}`, the message scrubbed (``ViewRedaction``).
public struct ErrorView: Sendable, Hashable, Encodable {
    public var type: String
    public var message: String
    /// `transient` or `permanent`.
    public var errorClass: String

    /// The error recorded for `job`, its message scrubbed by `redaction`.
    public init(_ error: AttemptError, of job: JobRecord, redaction: ViewRedaction) {
        type = error.type
        message = redaction.text(error.message, of: job)
        errorClass = error.errorClass.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case type, message
        case errorClass = "class"
    }
}
