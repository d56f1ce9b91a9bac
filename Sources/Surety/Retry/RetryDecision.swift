import Foundation

/// Decides where a job goes after an attempt: a pure function of the attempt's result, the
/// job's counters, its type's options and a random number for jitter.
public enum RetryDecision {
    /// What the attempt produced, as the worker saw it.
    public enum Result: Sendable, Hashable {
        case succeeded
        case snoozed(Duration)
        /// The job threw (or timed out, or its worker was lost) with this class of error.
        case failed(ErrorClass, undecodablePayload: Bool)
        /// An effect was started and never confirmed, and its policy says stop for a human.
        case inDoubt
        /// Released by a shutdown before it finished: does not use an attempt.
        case interrupted
        case cancelled
    }

    /// - Parameters:
    ///   - result: how the attempt ended.
    ///   - attempt: the attempt that just ended (1-based).
    ///   - maxAttempts: the job's limit.
    ///   - firstAttemptAt: when the first attempt started (for the budget).
    ///   - now: when the attempt ended.
    ///   - options: the job's options (backoff, retry budget).
    ///   - unitRandom: a number in [0, 1) for jitter.
    public static func next(
        after result: Result, attempt: Int, maxAttempts: Int, firstAttemptAt: Date, now: Date,
        options: JobOptions, unitRandom: Double
    ) -> NextState {
        switch result {
        case .succeeded:
            return .completed
        case .snoozed(let duration):
            return .reschedule(at: now.adding(duration))
        case .interrupted:
            return .reschedule(at: now)
        case .cancelled:
            return .cancelled
        case .inDoubt:
            return .dead(.inDoubt)
        case .failed(.permanent, let undecodable):
            return .dead(undecodable ? .undecodablePayload : .permanentError)
        case .failed(.transient, _):
            if attempt >= maxAttempts { return .dead(.maxAttempts) }
            let retryAt = now.adding(options.backoff.delay(afterAttempt: attempt, unitRandom: unitRandom))
            if let budget = options.retryBudget, retryAt > firstAttemptAt.adding(budget) {
                return .dead(.retryBudget)
            }
            return .retry(at: retryAt)
        }
    }
}
