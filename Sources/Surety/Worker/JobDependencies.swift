/// Services that jobs need (an email client, a database pool), handed to every attempt through
/// ``JobContext/dependency(_:)``. Jobs are plain Codable values; their collaborators live here.
///
/// ```swift
/// var dependencies = JobDependencies()
/// dependencies.register(EmailClient(apiKey: key))
/// let worker = Worker(store: store, registry: registry, dependencies: dependencies)
/// // in a job: let email = try context.dependency(EmailClient.self)
/// ```
public struct JobDependencies: Sendable {
    private var values: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    /// Registers `value` under its static type, replacing an earlier value of that type.
    public mutating func register<T: Sendable>(_ value: T) {
        values[ObjectIdentifier(T.self)] = value
    }

    /// The registered value of type `T`.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when none was registered.
    public func get<T: Sendable>(_ type: T.Type = T.self) throws -> T {
        guard let value = values[ObjectIdentifier(T.self)] as? T else {
            throw SuretyError(.invalidArgument, "no dependency of type \(T.self) was registered with the worker")
        }
        return value
    }
}
