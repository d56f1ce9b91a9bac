extension SQLiteStore {
    /// How the store opens its SQLite file. Every field has a default suited to a job queue that
    /// must not lose work.
    public struct Configuration: Sendable {
        /// SQLite's `PRAGMA synchronous` for the writer connection.
        public enum Synchronous: String, Sendable {
            /// Commits are durable against a crash of the process, and the file is never
            /// damaged, but the last commits before a power loss or OS crash may roll back.
            /// Faster: WAL commits then do not wait for the disk.
            case normal = "NORMAL"
            /// Every commit waits until the write-ahead log is on the disk: nothing committed is
            /// lost even on a power loss or OS crash.
            case full = "FULL"
        }

        /// Durability of each commit. Default: ``Synchronous/full``, so an enqueue or a
        /// completion that returned is never lost, even on power loss. ``Synchronous/normal`` is
        /// still safe against process crashes (the common failure) and is faster; choose it when
        /// losing the last moments of work on a machine crash is acceptable.
        public var synchronous: Synchronous

        /// How long a write waits for the file's lock when another process (a second `surety`
        /// worker, the CLI, a backup) holds it, before failing with
        /// `SuretyError.Code.storeUnavailable`. Default: 5 seconds.
        public var busyTimeout: Duration

        /// The most reader connections open at once (reads run beside the one writer in WAL
        /// mode). Must be at least 1. Default: 4.
        public var maximumReaderCount: Int

        /// How long queue limits (`QueueLimits`) read from the file are used before
        /// claims and enqueues read them again: a change made by another process applies within
        /// this interval (at once in the process that made it). Default: 1 second.
        public var limitsRefreshInterval: Duration

        public init(synchronous: Synchronous = .full, busyTimeout: Duration = .seconds(5), maximumReaderCount: Int = 4, limitsRefreshInterval: Duration = .seconds(1)) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.limitsRefreshInterval = limitsRefreshInterval
        }
    }
}
