import Foundation
import Logging

/// The worker's maintenance loop: every `interval` it runs ``LeaseRescuer/rescueOnce`` for up to
/// 100 expired leases, as the maintenance leader of "rescue" (on a shared store one node at a time
/// rescues; the others skip), and gives that leadership up when it stops.
struct LeaseRescueLoop: Sendable {
    let store: any JobStore
    let registry: JobRegistry
    let configuration: WorkerConfiguration
    let clock: any SuretyClock
    let logger: Logger
    let metrics: JobMetrics
    let interval: Duration

    func run() async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { break }
            do {
                _ = try await store.asMaintenanceLeader(of: "rescue") {
                    try await LeaseRescuer.rescueOnce(
                        store: store, registry: registry, clock: clock, logger: logger, limit: 100,
                        metrics: metrics, onEvent: configuration.onEvent
                    )
                }
            } catch {
                logger.warning("rescue failed", metadata: ["error": "\(error)"])
                configuration.onEvent?(.storeError("rescue: \(error)"))
            }
        }
        // Another node (or another worker on this store) takes the rescue over.
        await store.resignMaintenanceLeadership(of: "rescue")
    }
}
