/// The tenant a job belongs to. Part of the job's identity: required at enqueue, stored with the
/// job, restored from the stored row on every attempt, and used to scope unique keys.
///
/// Use ``system`` for work that belongs to no customer; it is an explicit choice, never a default.
public struct TenantID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// The longest tenant identifier accepted: 128 characters.
    public static let maximumLength = 128

    /// Work that belongs to no tenant. Stored as `@system`; customer tenants may not start with `@`.
    public static let system = TenantID(unchecked: "@system")

    /// Validates and wraps a tenant identifier.
    /// - Throws: ``SuretyError/Code/invalidTenant`` when the identifier is empty, longer than
    ///   ``maximumLength``, starts with `@` (reserved), or contains whitespace or control characters.
    public init(_ rawValue: String) throws {
        if rawValue == TenantID.system.rawValue {
            self = .system
            return
        }
        guard !rawValue.isEmpty else {
            throw SuretyError(.invalidTenant, "tenant is empty; pass a tenant id or TenantID.system explicitly")
        }
        guard rawValue.count <= TenantID.maximumLength else {
            throw SuretyError(.invalidTenant, "tenant id is longer than \(TenantID.maximumLength) characters")
        }
        guard !rawValue.hasPrefix("@") else {
            throw SuretyError(.invalidTenant, "tenant ids starting with '@' are reserved")
        }
        guard !rawValue.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) else {
            throw SuretyError(.invalidTenant, "tenant id contains whitespace or control characters")
        }
        self.rawValue = rawValue
    }

    /// Wraps a value read back from a store, which validated it at enqueue.
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
