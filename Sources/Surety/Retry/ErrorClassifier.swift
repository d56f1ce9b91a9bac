/// Maps the errors a job throws to ``ErrorClass``.
///
/// The order: a custom rule (when it returns non-nil), then ``PermanentFailure`` → permanent,
/// ``ClassifiedError`` → its own class, and everything else → transient. ``SuretyError`` is a
/// ``ClassifiedError``: the codes retrying cannot fix (`invalid_payload`, `invalid_argument`,
/// `invalid_tenant`, `tenant_mismatch`, `missing_tenant`, `invalid_store_url`) are permanent, the
/// rest transient.
///
/// A `DecodingError` thrown by the job's own code is transient like any other error: it usually
/// means an upstream answered with something unexpected once (a load balancer's HTML 502 page
/// decoded as JSON), and the next attempt may well succeed. A job *payload* that no longer decodes
/// is a different case: the worker sends it to the dead-letter inbox at once as
/// `undecodable_payload`, without asking the classifier. To make a decoding failure of your own
/// permanent, throw ``PermanentFailure`` or add a custom rule.
public struct ErrorClassifier: Sendable {
    private let custom: (@Sendable (any Error) -> ErrorClass?)?

    /// The default classifier, optionally with a rule that is asked first.
    public init(_ custom: (@Sendable (any Error) -> ErrorClass?)? = nil) {
        self.custom = custom
    }

    /// The classifier without a custom rule.
    public static let standard = ErrorClassifier()

    /// The class of `error`, by the order above.
    public func classify(_ error: any Error) -> ErrorClass {
        if let custom, let decided = custom(error) { return decided }
        switch error {
        case is PermanentFailure: return .permanent
        case let classified as any ClassifiedError: return classified.errorClass
        default: return .transient
        }
    }
}
