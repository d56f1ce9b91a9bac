/// The states of a job. See docs/state-machine.md for the diagram.
public enum JobState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for its `run_at` (a delayed job, or a snoozed one).
    case scheduled
    /// Ready to be claimed now.
    case available
    /// Leased by a worker.
    case running
    /// Failed an attempt; waiting for its backoff to pass before the next one.
    case retrying
    /// Ran to the end. Terminal.
    case completed
    /// In the dead-letter inbox: attempts or budget exhausted, or a permanent failure.
    /// Leaves only by an operator's requeue or discard.
    case dead
    /// Cancelled, or discarded from the inbox as "won't retry". Terminal.
    case cancelled

    /// States from which a worker may claim the job once its `run_at` has passed.
    public static let claimable: [JobState] = [.scheduled, .available, .retrying]
    /// States in which a ``UniqueScope/whileActive`` key is held.
    public static let active: [JobState] = [.scheduled, .available, .running, .retrying]
    /// States a job never leaves by itself.
    public static let terminal: [JobState] = [.completed, .dead, .cancelled]

    public var isTerminal: Bool { JobState.terminal.contains(self) }
}

/// How one attempt ended.
public enum AttemptOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// `run` returned normally.
    case succeeded
    /// `run` threw an error.
    case failed
    /// The attempt exceeded its timeout and its task was cancelled.
    case timedOut = "timed_out"
    /// The job asked to be run later; no attempt was used.
    case snoozed
    /// The worker vanished (its lease expired without an outcome); found by the rescuer.
    case lost
    /// The worker shut down before the job finished; the job was released, no attempt used.
    case interrupted
    /// The job was cancelled while running.
    case cancelled
}

/// Why a job reached the dead-letter inbox.
public enum DeadReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// The job threw a permanent error.
    case permanentError = "permanent_error"
    /// The payload no longer decodes into the job type (requeue refuses it unless forced).
    case undecodablePayload = "undecodable_payload"
    /// The last allowed attempt failed.
    case maxAttempts = "max_attempts"
    /// The next retry would have started after the job's retry budget.
    case retryBudget = "retry_budget"
    /// An effect was started and never confirmed, and nothing could tell whether it happened:
    /// a person checks the outside world, resolves the effect, and requeues or discards.
    case inDoubt = "in_doubt"
}
