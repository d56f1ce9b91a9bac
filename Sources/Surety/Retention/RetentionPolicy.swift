import Foundation

/// How long finished jobs and audit rows are kept. `nil` keeps them forever.
///
/// The defaults keep what needs a decision longest: completed jobs 24 hours, cancelled (and
/// discarded) jobs 7 days, dead jobs 30 days, and operator audit rows 90 days after their job was
/// pruned, so "who requeued this and why" outlives the job itself.
public struct RetentionPolicy: Sendable, Hashable {
    /// How long completed jobs are kept after they finished. Default: 24 hours.
    public var completed: Duration?
    /// How long cancelled and discarded jobs are kept after they finished. Default: 7 days.
    public var cancelled: Duration?
    /// How long dead jobs stay in the dead-letter inbox. Default: 30 days.
    public var dead: Duration?
    /// How long audit rows are kept once their job is gone (counted from the action). Default:
    /// 90 days.
    public var audit: Duration?
    /// The most rows one transaction deletes. Default: 500.
    public var batchSize: Int
    /// The time between passes of ``RetentionService``. Default: 5 minutes.
    public var interval: Duration

    public init(
        completed: Duration? = .seconds(24 * 3600),
        cancelled: Duration? = .seconds(7 * 24 * 3600),
        dead: Duration? = .seconds(30 * 24 * 3600),
        audit: Duration? = .seconds(90 * 24 * 3600),
        batchSize: Int = 500,
        interval: Duration = .seconds(300)
    ) {
        self.completed = completed
        self.cancelled = cancelled
        self.dead = dead
        self.audit = audit
        self.batchSize = batchSize
        self.interval = interval
    }

    /// The job states pruned, with their ages, in the order a pass visits them.
    var jobAges: [(JobState, Duration)] {
        [(.completed, completed), (.cancelled, cancelled), (.dead, dead)].compactMap { state, age in
            age.map { (state, $0) }
        }
    }

    /// - Throws: ``SuretyError/Code/invalidArgument`` for a negative age, a batch size below 1 or
    ///   an interval that is not positive.
    public func validate() throws {
        for (name, age) in [("completed", completed), ("cancelled", cancelled), ("dead", dead), ("audit", audit)] {
            if let age, age < .zero { throw SuretyError(.invalidArgument, "retention age for \(name) must not be negative") }
        }
        guard batchSize >= 1 else { throw SuretyError(.invalidArgument, "retention batch size must be at least 1, got \(batchSize)") }
        guard interval > .zero else { throw SuretyError(.invalidArgument, "retention interval must be positive") }
    }
}

/// What one retention pass deleted (or, for a dry run, would delete).
public struct RetentionReport: Sendable, Hashable, Codable {
    public var completed: Int
    public var cancelled: Int
    public var dead: Int
    public var audit: Int
    /// Whether this was a count only.
    public var dryRun: Bool
    /// The time the pass measured ages from.
    public var now: Date

    public init(completed: Int = 0, cancelled: Int = 0, dead: Int = 0, audit: Int = 0, dryRun: Bool, now: Date) {
        self.completed = completed
        self.cancelled = cancelled
        self.dead = dead
        self.audit = audit
        self.dryRun = dryRun
        self.now = now
    }

    /// Jobs deleted in all states.
    public var jobs: Int { completed + cancelled + dead }

    mutating func add(_ count: Int, for state: JobState) {
        switch state {
        case .completed: completed += count
        case .cancelled: cancelled += count
        case .dead: dead += count
        default: break
        }
    }
}
