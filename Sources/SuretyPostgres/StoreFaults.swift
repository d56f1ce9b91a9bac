import Surety
import Synchronization

/// Named points inside the store's multi-step writes where a test makes the next step fail, to
/// check that the write is all or nothing. Disarmed (the default) a point costs one atomic load.
final class StoreFaults: Sendable {
    enum Point: String, Sendable {
        /// Inside a flow-controlled claim, after a limited queue's jobs were claimed.
        case claimBetweenQueues = "claim.between_queues"
    }

    private let anyArmed = Atomic<Bool>(false)
    private let armed = Mutex<Set<Point>>([])

    /// Makes every later `reach(point)` throw, until disarmed.
    func arm(_ point: Point) {
        _ = armed.withLock { $0.insert(point) }
        anyArmed.store(true, ordering: .releasing)
    }

    func disarm(_ point: Point) {
        let empty = armed.withLock { armed -> Bool in
            armed.remove(point)
            return armed.isEmpty
        }
        if empty { anyArmed.store(false, ordering: .releasing) }
    }

    /// Throws ``Surety/SuretyError/Code/storeUnavailable`` when `point` is armed.
    func reach(_ point: Point) throws {
        guard anyArmed.load(ordering: .acquiring), armed.withLock({ $0.contains(point) }) else { return }
        throw SuretyError(.storeUnavailable, "injected fault at \(point.rawValue)")
    }
}
