import Foundation

/// The job types a process knows: how to decode, run and redact each by its stored name.
/// Register the same types in producers (for ``JobQueue/enqueue(type:payload:tenant:options:)``
/// validation) and in workers.
public struct JobRegistry: Sendable {
    /// What the runtime knows about one registered type.
    public struct Entry: Sendable {
        public let name: String
        public let options: JobOptions
        public let redactor: Redactor
        /// Decodes the payload (a failure is a `PayloadDecodingFailure`) and runs the job.
        package let decodeAndRun: @Sendable (String, JobContext) async throws -> Void
        let validate: @Sendable (String) throws -> Void

        /// How to run `J`: what the worker and `JobTesting` both run.
        package init<J: Job>(_ type: J.Type) {
            name = J.name
            options = J.options
            redactor = Redactor(secretFields: J.secretFields)
            decodeAndRun = { payload, context in
                let job: J
                do {
                    job = try JobCoding.decode(J.self, from: payload)
                } catch {
                    throw PayloadDecodingFailure(type: J.name, detail: JobQueue.describeDecoding(error))
                }
                try await job.run(context)
            }
            validate = { payload in _ = try JobCoding.decode(J.self, from: payload) }
        }
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// Registers a job type under `J.name`. Registering a name twice replaces the earlier entry.
    public mutating func register<J: Job>(_ type: J.Type) {
        entries[J.name] = Entry(type)
    }

    /// A registry with the given types.
    public init(_ types: [any Job.Type]) {
        for type in types { registerOpened(type) }
    }

    /// Opens the existential so the generic `register(_:)` sees the concrete type.
    private mutating func registerOpened<J: Job>(_ type: J.Type) {
        register(type)
    }

    /// The entry for a stored type name, or `nil` when this process does not know it.
    public func entry(for name: String) -> Entry? { entries[name] }

    /// The registered type names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Options for a type name, or the defaults for an unknown one.
    public func options(for name: String) -> JobOptions { entries[name]?.options ?? JobOptions() }

    /// The redactor for a type name; an unknown type's payload is masked whole, since its
    /// secret fields are not known.
    public func redactor(for name: String) -> Redactor? { entries[name]?.redactor }

    /// The payload with the type's secrets masked (wholly masked for unknown types).
    public func redactedPayload(_ payload: String, type: String) -> String {
        guard let redactor = redactor(for: type) else { return "\"[REDACTED: unknown job type]\"" }
        return redactor.redact(payload: payload)
    }
}
