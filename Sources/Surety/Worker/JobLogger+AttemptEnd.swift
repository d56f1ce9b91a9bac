import Foundation
import Logging

extension JobLogger {
    /// Logs an attempt's end at the level its outcome deserves: a completion at info, a retry,
    /// reschedule or cancellation at warning, a move to the dead-letter inbox at error, a late
    /// outcome the store refused (lost lease) at warning, and an outcome that could not be
    /// recorded (`fence` `nil`) at error.
    func attemptEnded(outcome: AttemptOutcome, next: NextState, error: AttemptError?, fence: FenceResult?, duration: TimeInterval) {
        // A completed attempt logs at info: skip building its metadata when that level is off
        // (the worker's hot path; every other outcome logs at warning or above).
        if fence == .applied, case .completed = next, logLevel > .info { return }
        let logger = self.logger
        var metadata: Logger.Metadata = [
            "outcome": "\(outcome.rawValue)",
            "next": "\(next.logDescription)",
            "duration_ms": "\(Int((duration * 1000).rounded()))",
        ]
        if let error {
            metadata["error_class"] = "\(error.errorClass.rawValue)"
            metadata["error_type"] = "\(error.type)"
            metadata["error"] = "\(error.message)"
        }
        switch fence {
        case .applied?:
            switch next {
            case .completed: logger.info("job attempt finished", metadata: metadata)
            case .dead: logger.error("job attempt finished; job moved to the dead-letter inbox", metadata: metadata)
            case .retry, .reschedule, .cancelled: logger.warning("job attempt finished", metadata: metadata)
            }
        case .leaseLost?:
            logger.warning("late outcome refused: the lease was lost (the job was rescued or finished elsewhere)", metadata: metadata)
        case nil:
            logger.error("attempt outcome not recorded (store unavailable at shutdown); the lease will expire and the job will be rescued", metadata: metadata)
        }
    }
}

extension NextState {
    /// How logs name the state an attempt's end leads to.
    var logDescription: String {
        switch self {
        case .completed: "completed"
        case .retry(let at): "retry at \(at.formatted(.iso8601))"
        case .reschedule(let at): "reschedule at \(at.formatted(.iso8601))"
        case .dead(let reason): "dead (\(reason.rawValue))"
        case .cancelled: "cancelled"
        }
    }
}
