import Logging
import Synchronization

/// A job's logger, tagged with the job's id, type, queue, tenant, attempt, correlation IDs and
/// tags, built the first time something logs for the job.
///
/// The identity fields always win: correlation IDs come from whoever enqueued the job (often
/// request data) and must not pass for the job's tenant or id. A correlation ID whose key is one
/// of ``reservedKeys`` or already set on the base logger (`worker`, for example) is logged under
/// `correlation.<key>` instead (`correlation.tenant`), unless the correlation IDs also hold that
/// prefixed key themselves, which then keeps its own value.
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

    /// The metadata keys the job logger and the worker's attempt line set themselves.
    static let reservedKeys: Set<String> = [
        "job_id", "job_type", "queue", "tenant", "attempt", "worker", "tags",
        "outcome", "next", "duration_ms", "error_class", "error_type", "error",
    ]

    private static func tagged(_ base: Logger, _ job: ClaimedJob) -> Logger {
        // The metadata is set on the handler in one assignment: a handler may do work on every
        // change (StreamLogHandler re-renders all of its metadata each time).
        var logger = base
        var metadata = logger.handler.metadata
        for (key, value) in job.correlation {
            // `metadata[key]` is set here only by the base logger: no other pair writes `key`.
            if reservedKeys.contains(key) || metadata[key] != nil {
                let prefixed = "correlation.\(key)"
                if job.correlation[prefixed] == nil { metadata[prefixed] = "\(value)" }
            } else {
                metadata[key] = "\(value)"
            }
        }
        metadata["job_id"] = "\(job.id)"
        metadata["job_type"] = "\(job.type)"
        metadata["queue"] = "\(job.queue)"
        metadata["tenant"] = "\(job.tenant)"
        metadata["attempt"] = "\(job.attempt)"
        if !job.tags.isEmpty { metadata["tags"] = "\(job.tags.joined(separator: ","))" }
        logger.handler.metadata = metadata
        return logger
    }
}
