/// The one error type Surety's own APIs throw.
///
/// `description` is safe to log: it never contains payloads or secrets. Details that may help a
/// developer (the underlying error) are in `debugDescription`. Compare on `code`, never on text.
public struct SuretyError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A stable, machine-readable error code: one of the static members below. Codes are closed:
    /// only Surety defines them (compare with `==` or `switch` over the members; `rawValue` is the
    /// text logs and the `--json` output show).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// No job type of that name is registered.
        public static let unknownJobType = Code("unknown_job_type")
        /// The payload does not encode, does not decode, or is not valid JSON.
        public static let invalidPayload = Code("invalid_payload")
        /// A tenant identifier is empty, too long, or uses reserved characters.
        public static let invalidTenant = Code("invalid_tenant")
        /// An argument is out of range (a negative delay, a zero limit, an empty queue name).
        public static let invalidArgument = Code("invalid_argument")
        /// The store could not be reached or refused the operation; retrying may help.
        public static let storeUnavailable = Code("store_unavailable")
        /// The store's file or schema is not a Surety store or is damaged.
        public static let storeCorrupt = Code("store_corrupt")
        /// The store URL cannot be parsed or names an unsupported store.
        public static let invalidStoreURL = Code("invalid_store_url")
        /// No job with that id exists.
        public static let notFound = Code("not_found")
        /// The job is not in a state that allows the operation (requeue of a running job, say).
        public static let invalidState = Code("invalid_state")
        /// The attempt's lease is no longer held (the job was rescued or finished elsewhere); the
        /// write was refused and, in a transaction, rolled back.
        public static let leaseLost = Code("lease_lost")
        /// A unique key is already held by another active job.
        public static let uniqueConflict = Code("unique_conflict")
        /// A resource belongs to another tenant than the one the job runs for.
        public static let tenantMismatch = Code("tenant_mismatch")
        /// Code ran outside a job's tenant context where one is required.
        public static let missingTenant = Code("missing_tenant")
        /// An alert notice could not be delivered to a sink (a webhook, a command) after its
        /// retries and within its time limit.
        public static let alertDeliveryFailed = Code("alert_delivery_failed")
        /// The queue's backlog is at its maximum (``QueueLimits/maxBacklog``) and its overflow
        /// policy rejects new jobs; nothing of the batch was enqueued. Retry later or shed load.
        public static let queueFull = Code("queue_full")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A human-readable message that is safe to log.
    public var message: String
    /// The error that caused this one, if any. Not included in `description`.
    public var underlying: (any Error & Sendable)?
    /// `true` when the store is sure the failed call wrote nothing: the server refused the
    /// statement and rolled its transaction back, or the call was refused before anything was
    /// sent. A group write that failed so may be retried call by call without writing anything
    /// twice. `false` (the default) when that is not known: a connection lost after the statement
    /// was sent may have lost only the commit's confirmation, so the write must not be repeated
    /// blindly.
    public var nothingWritten = false

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" }

    public var debugDescription: String {
        guard let underlying else { return description }
        return "\(description) (underlying: \(String(reflecting: underlying)))"
    }
}

/// How a Surety error thrown inside a job is retried: the codes that retrying cannot fix are
/// permanent (a value that does not encode or decode, a bad argument, a tenant check that
/// failed); the others are transient. `unknownJobType` stays transient: a newer worker may know
/// the type.
extension SuretyError: ClassifiedError {
    public var errorClass: ErrorClass {
        switch code {
        case .invalidPayload, .invalidArgument, .invalidTenant, .tenantMismatch, .missingTenant, .invalidStoreURL: .permanent
        default: .transient
        }
    }
}
