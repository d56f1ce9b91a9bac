/// How an attempt that ended by itself (no timeout, shutdown or cancel request stopped it) is
/// judged: its outcome, the retry decision's input, and the error recorded in its history. One
/// function, used by the ``Worker`` and by SuretyTesting's `JobTesting`, so a test that runs a
/// job inline records exactly what a worker records.
package enum AttemptJudgement {
    /// - Parameters:
    ///   - error: what the body threw; `nil` when it returned.
    ///   - classifier: transient or permanent for errors that do not say.
    ///   - redactor, payload: secret values are scrubbed from recorded messages.
    package static func judge(
        _ error: (any Error)?, classifier: ErrorClassifier, redactor: Redactor, payload: String
    ) -> (AttemptOutcome, RetryDecision.Result, AttemptError?) {
        guard let error else { return (.succeeded, .succeeded, nil) }
        if let snooze = error as? Snooze {
            return (.snoozed, .snoozed(snooze.duration), nil)
        }
        if let inDoubt = error as? EffectInDoubt {
            let recorded = AttemptError(type: "EffectInDoubt", message: redactor.scrub(inDoubt.description, payload: payload), errorClass: .permanent)
            return (.failed, .inDoubt, recorded)
        }
        let undecodable = error is PayloadDecodingFailure
        let errorClass = undecodable ? .permanent : classifier.classify(error)
        let message = redactor.scrub(String(describing: error), payload: payload)
        let recorded = AttemptError(type: String(describing: type(of: error)), message: message, errorClass: errorClass)
        return (.failed, .failed(errorClass, undecodablePayload: undecodable), recorded)
    }
}
