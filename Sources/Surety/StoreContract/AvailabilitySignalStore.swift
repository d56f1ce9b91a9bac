/// A capability: the store can tell workers in this process that jobs became available, so an
/// idle worker starts a new job without waiting for its next poll.
public protocol AvailabilitySignalStore: JobStore {
    /// A stream that yields whenever jobs may have become claimable.
    func availabilitySignals() -> AsyncStream<Void>
}
