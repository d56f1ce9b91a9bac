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

extension AttemptJudgement {
    /// How a worker judges an attempt that may have been stopped early: a body that returned
    /// succeeded whatever stopped it; one that threw after a stop is judged by the stop (`timed_out`,
    /// `interrupted` without using an attempt, `lost`, `cancelled`); otherwise by what it threw.
    /// - Parameters:
    ///   - bodyError: what the body threw; `nil` when it returned.
    ///   - stop: why the worker stopped the attempt, if it did.
    ///   - timeout: the job type's timeout, named in a timed-out attempt's error.
    static func judge(
        _ bodyError: (any Error)?, stop: AttemptControl.Stop?, timeout: Duration,
        classifier: ErrorClassifier, redactor: Redactor, payload: String
    ) -> (AttemptOutcome, RetryDecision.Result, AttemptError?) {
        guard let bodyError else { return (.succeeded, .succeeded, nil) }
        switch stop {
        case .timedOut:
            let error = AttemptError(type: "Timeout", message: "attempt exceeded its timeout of \(timeout)", errorClass: .transient)
            return (.timedOut, .failed(.transient, undecodablePayload: false), error)
        case .shutdown:
            let error = AttemptError(type: "Shutdown", message: "worker shut down before the job finished; released without using an attempt", errorClass: .transient)
            return (.interrupted, .interrupted, error)
        case .leaseLost:
            let error = AttemptError(type: "LeaseLost", message: "the job's lease was lost while it ran", errorClass: .transient)
            return (.lost, .failed(.transient, undecodablePayload: false), error)
        case .leaseNotRenewed:
            let error = AttemptError(
                type: "LeaseNotRenewed",
                message: "the store did not answer heartbeats, so the lease could not be renewed; the attempt was stopped before the lease could expire and released without using an attempt",
                errorClass: .transient
            )
            return (.interrupted, .interrupted, error)
        case .requested(let note):
            return (.cancelled, .cancelled, AttemptError(type: "Cancelled", message: note, errorClass: .permanent))
        case nil:
            return judge(bodyError, classifier: classifier, redactor: redactor, payload: payload)
        }
    }
}
