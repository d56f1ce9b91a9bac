import Logging
import Synchronization

/// A job's logger, tagged with the job's id, type, queue, tenant, attempt, correlation IDs and
/// tags, built the first time something logs for the job.
///
/// Building it costs a metadata dictionary of several interpolated strings, and the common
/// `StreamLogHandler` renders all of its metadata again on every assignment: for a job that
/// never logs (a succeeded attempt with `info` off), that was the largest share of the worker's
/// own time per job in the drain profile (docs/benchmarks.md).
final class JobLogger: Sendable {
    private let base: Logger
    private let job: ClaimedJob
    private let built = Mutex<Logger?>(nil)

    init(base: Logger, job: ClaimedJob) {
        self.base = base
        self.job = job
    }

    /// The base logger's level: the job's logger has the same one.
    var logLevel: Logger.Level { base.logLevel }

    /// The tagged logger (built once).
    var logger: Logger {
        built.withLock { built in
            if let built { return built }
            let logger = Self.tagged(base, job)
            built = logger
            return logger
        }
    }

    private static func tagged(_ base: Logger, _ job: ClaimedJob) -> Logger {
        // The metadata is set on the handler in one assignment: a handler may do work on every
        // change (StreamLogHandler re-renders all of its metadata each time).
        var logger = base
        var metadata = logger.handler.metadata
        metadata["job_id"] = "\(job.id)"
        metadata["job_type"] = "\(job.type)"
        metadata["queue"] = "\(job.queue)"
        metadata["tenant"] = "\(job.tenant)"
        metadata["attempt"] = "\(job.attempt)"
        for (key, value) in job.correlation { metadata[key] = "\(value)" }
        if !job.tags.isEmpty { metadata["tags"] = "\(job.tags.joined(separator: ","))" }
        logger.handler.metadata = metadata
        return logger
    }
}
