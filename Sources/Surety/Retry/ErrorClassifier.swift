/// Maps the errors a job throws to ``ErrorClass``.
///
/// The order: a custom rule (when it returns non-nil), then ``PermanentFailure`` → permanent,
/// ``ClassifiedError`` → its own class, `DecodingError` → permanent (a payload that no longer
/// decodes will not decode next time), and everything else → transient.
public struct ErrorClassifier: Sendable {
    private let custom: (@Sendable (any Error) -> ErrorClass?)?

    /// The default classifier, optionally with a rule that is asked first.
    public init(_ custom: (@Sendable (any Error) -> ErrorClass?)? = nil) {
        self.custom = custom
    }

    public static let standard = ErrorClassifier()

    public func classify(_ error: any Error) -> ErrorClass {
        if let custom, let decided = custom(error) { return decided }
        switch error {
        case is PermanentFailure: return .permanent
        case let classified as any ClassifiedError: return classified.errorClass
        case is DecodingError: return .permanent
        default: return .transient
        }
    }
}
