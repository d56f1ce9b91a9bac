import Surety
import Synchronization

/// A conformance check that did not hold.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var group: String
    public var check: String
    public var description: String { "store conformance [\(group)]: \(check)" }
}

/// The checks of one group run: fails with a ``ConformanceFailure`` naming the group, and
/// collects the parts of the group skipped for a capability the store lacks.
final class Check: Sendable {
    let group: StoreConformance.Group
    private let skipped = Mutex<[String]>([])

    init(group: StoreConformance.Group) { self.group = group }

    func that(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(group: group.rawValue, check: message()) }
    }

    func fail(_ message: String) throws -> Never {
        throw ConformanceFailure(group: group.rawValue, check: message)
    }

    /// Records that `part` did not run because the store lacks `capability`.
    func skip(_ part: String, lacking capability: StoreConformance.Capability) {
        skipped.withLock { $0.append("\(part) (the store does not provide \(capability.protocolName))") }
    }

    var skippedParts: [String] { skipped.withLock { $0 } }
}
