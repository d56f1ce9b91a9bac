import Foundation
import Surety

/// What an operator view may show of a job's stored text, decided by the job types this build
/// knows (their ``Redactor``s). Every view in this module goes through it, so `surety … --json`
/// and the dashboard's /api hide the same things:
///
/// - the payload: secret fields masked at any depth; wholly masked for a type not in the registry;
/// - the unique key and effect keys: scrubbed of the payload's secret values (keys are often built
///   from the job's fields); wholly masked for an unknown type;
/// - error messages, audit reasons and the job's note: scrubbed of the payload's secret values (messages are
///   recorded scrubbed by the worker; this covers older rows, custom stores, and secrets an
///   operator typed into a reason). Shown as recorded for an unknown type, whose secret fields
///   are unknown: masking them whole would hide the error and the operators' notes.
public struct ViewRedaction: Sendable {
    public let registry: JobRegistry

    /// - Parameter registry: the job types whose redactors apply.
    public init(registry: JobRegistry) {
        self.registry = registry
    }

    /// What replaces a key that cannot be scrubbed because the job's type is unknown here (the
    /// same words as an unknown type's masked payload).
    public static let unknownTypeMask = "[REDACTED: unknown job type]"

    /// The payload with the type's secret fields masked, as JSON: an object for known types, a
    /// string when masked whole or not valid JSON.
    public func payload(_ job: JobRecord) -> JSONValue {
        JSONValue.parse(registry.redactedPayload(job.payload, type: job.type))
    }

    /// A key built from the job's fields (its unique key, an effect's key) scrubbed of secret
    /// values; wholly masked for an unknown type, `""` kept as it is.
    public func key(_ key: String, of job: JobRecord) -> String {
        guard let redactor = registry.redactor(for: job.type) else { return key.isEmpty ? "" : Self.unknownTypeMask }
        return redactor.scrub(key, payload: job.payload)
    }

    /// Free text about the job (an error message, an audit reason) scrubbed of the payload's
    /// secret values; as recorded for an unknown type.
    public func text(_ text: String, of job: JobRecord) -> String {
        guard let redactor = registry.redactor(for: job.type) else { return text }
        return redactor.scrub(text, payload: job.payload)
    }
}
