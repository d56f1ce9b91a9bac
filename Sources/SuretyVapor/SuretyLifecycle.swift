import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Vapor

/// Runs Surety's services with a Vapor application: started when it boots (`didBoot`), shut
/// down gracefully when it shuts down (`asyncShutdown()` waits until the worker has drained).
final class SuretyLifecycle: LifecycleHandler, Sendable {
    struct Key: StorageKey {
        typealias Value = SuretyLifecycle
    }

    struct Entry: Sendable {
        var service: any Service
        /// The commands it runs for; `nil`: every command.
        var commands: Set<String>?
    }

    struct Running: Sendable {
        var group: ServiceGroup
        var task: Task<Void, Never>
    }

    private let logger: Logger
    private let entries = NIOLockedValueBox<[Entry]>([])
    private let running = NIOLockedValueBox<Running?>(nil)

    init(logger: Logger) {
        self.logger = logger
    }

    func add(_ service: any Service, onlyFor commands: Set<String>?) {
        entries.withLockedValue { $0.append(Entry(service: service, commands: commands)) }
    }

    func didBoot(_ application: Application) throws {
        start(command: Self.command(of: application))
    }

    func didBootAsync(_ application: Application) async throws {
        start(command: Self.command(of: application))
    }

    /// Without waiting (a synchronous shutdown cannot): `asyncShutdown()` waits for the drain.
    func shutdown(_ application: Application) {
        guard let running = running.withLockedValue({ $0 }) else { return }
        Task { await running.group.triggerGracefulShutdown() }
    }

    func shutdownAsync(_ application: Application) async {
        guard let running = running.withLockedValue({ value in defer { value = nil }; return value }) else { return }
        await running.group.triggerGracefulShutdown()
        await running.task.value
    }

    /// The Vapor command the application boots for: the first argument that is not an option
    /// (how ConsoleKit picks it), or `serve`, Vapor's default command.
    static func command(of application: Application) -> String {
        application.environment.commandInput.arguments.first { !$0.hasPrefix("-") } ?? "serve"
    }

    private func start(command: String) {
        let services = entries.withLockedValue { entries in
            entries.filter { $0.commands?.contains(command) ?? true }.map(\.service)
        }
        guard !services.isEmpty else { return }
        running.withLockedValue { running in
            guard running == nil else { return }
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
            let logger = self.logger
            let task = Task {
                do {
                    try await group.run()
                } catch {
                    logger.critical("Surety's services stopped", metadata: ["error": "\(error)"])
                }
            }
            running = Running(group: group, task: task)
        }
    }
}
