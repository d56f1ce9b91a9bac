import Foundation

/// How a ``Worker`` runs. Every field has a documented default.
public struct WorkerConfiguration: Sendable {
    /// The queues to claim from. Default: `["default"]`.
    public var queues: [String]
    /// How many jobs run at once. Default: 10.
    public var concurrency: Int
    /// The most jobs one claim takes. Default: equal to `concurrency`.
    public var claimBatchSize: Int?
    /// How long a claim holds a job without a heartbeat. A crashed worker's jobs come back after
    /// this. Default: 30 s.
    public var leaseDuration: Duration
    /// How often running jobs' leases are extended. Default: a third of `leaseDuration`.
    public var heartbeatInterval: Duration?
    /// How long an idle worker waits before looking for work again when the store cannot signal
    /// new work (another process enqueued it). Default: 1 s.
    public var pollInterval: Duration
    /// How often this worker looks for expired leases to rescue; `nil` disables rescue in this
    /// worker (run it elsewhere). Default: 5 s.
    public var rescueInterval: Duration?
    /// How long a graceful shutdown waits for running jobs before cancelling them and releasing
    /// them back to the queue (no attempt used). Default: 25 s.
    public var shutdownGracePeriod: Duration
    /// The worker's name in leases, history and logs. Default: `<host>:<pid>:<random>`.
    public var workerID: String
    /// Classifies errors jobs throw. Default: ``ErrorClassifier/standard``.
    public var classifier: ErrorClassifier
    /// Where metrics go and whether they carry a tenant dimension. Default: the process-wide
    /// `MetricsSystem`, no tenant dimension.
    public var metrics: MetricsOptions
    /// Where attempt spans go, and their parent (by default each is the child of the job's
    /// enqueue span, and linked to it). Default: the process-wide `InstrumentationSystem.tracer`,
    /// ``AttemptSpanParent/enqueue``.
    public var tracing = TracingOptions()
    /// Called with every event (attempt started/finished, lease lost, rescue, store error):
    /// tests await these instead of sleeping. Default: none.
    public var onEvent: (@Sendable (WorkerEvent) -> Void)?

    public init(
        queues: [String] = ["default"],
        concurrency: Int = 10,
        claimBatchSize: Int? = nil,
        leaseDuration: Duration = .seconds(30),
        heartbeatInterval: Duration? = nil,
        pollInterval: Duration = .seconds(1),
        rescueInterval: Duration? = .seconds(5),
        shutdownGracePeriod: Duration = .seconds(25),
        workerID: String = WorkerConfiguration.defaultWorkerID(),
        classifier: ErrorClassifier = .standard,
        metrics: MetricsOptions = MetricsOptions(),
        onEvent: (@Sendable (WorkerEvent) -> Void)? = nil
    ) {
        self.metrics = metrics
        self.queues = queues
        self.concurrency = concurrency
        self.claimBatchSize = claimBatchSize
        self.leaseDuration = leaseDuration
        self.heartbeatInterval = heartbeatInterval
        self.pollInterval = pollInterval
        self.rescueInterval = rescueInterval
        self.shutdownGracePeriod = shutdownGracePeriod
        self.workerID = workerID
        self.classifier = classifier
        self.onEvent = onEvent
    }

    /// `<host>:<pid>:<4 random hex digits>`.
    public static func defaultWorkerID() -> String {
        let info = ProcessInfo.processInfo
        return "\(info.hostName):\(info.processIdentifier):\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }

    var effectiveHeartbeatInterval: Duration { heartbeatInterval ?? leaseDuration / 3 }
    var effectiveBatchSize: Int { max(1, min(claimBatchSize ?? concurrency, concurrency)) }
}

/// Something that happened in a worker, for tests and instrumentation.
public enum WorkerEvent: Sendable {
    /// An attempt began.
    case attemptStarted(JobID, attempt: Int, tenant: TenantID)
    /// An attempt's end was recorded (or refused, when `result` is `.leaseLost`).
    case attemptFinished(JobID, attempt: Int, outcome: AttemptOutcome, next: NextState, result: FenceResult)
    /// A heartbeat found that the job's lease is no longer held; its task is cancelled.
    case leaseLost(JobID)
    /// A heartbeat found a cancel request for the running job; its task is cancelled.
    case cancelRequested(JobID)
    /// The rescuer recorded a lost attempt for a job whose worker vanished.
    case rescued(JobID, attempt: Int, next: NextState)
    /// A store call failed; the worker backs off and retries.
    case storeError(String)
    /// The worker stopped claiming new jobs (graceful shutdown began).
    case draining
}
