import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `surety worker --exit-with-parent` (the worker process of `surety demo`): a service that
/// returns when the process that started this one has exited, checking every 500 ms, or when the
/// group shuts down. Run it with `ServiceGroupConfiguration.ServiceConfiguration`'s
/// `successTerminationBehavior: .gracefullyShutdownGroup`, so its return shuts the worker down
/// gracefully and a demo that is itself killed leaves no worker behind.
struct ParentProcessWatcher: Service {
    /// The parent's process id when this process started.
    let parent: pid_t
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown {
            while getppid() == parent {
                do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
            }
            logger.warning("parent process exited; shutting down")
        }
    }
}
