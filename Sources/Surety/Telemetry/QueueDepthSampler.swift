import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// A Service that samples the store's job counts into gauges: `surety_queue_depth{queue,state}`
/// and `surety_dead_letter_size{queue}`. Run one per deployment (or per node; the values are the
/// same from every node).
public struct QueueDepthSampler: Service {
    public let store: any JobInspectionStore
    /// How often to sample. Default: 15 s.
    public let interval: Duration
    public let clock: any SuretyClock
    let factory: (any MetricsFactory)?
    let logger: Logger

    /// - Parameters:
    ///   - store: the store whose queue depths are sampled.
    ///   - interval: Default: 15 s.
    ///   - metrics: Default: the process-wide factory.
    ///   - clock: Default: ``SystemClock``.
    ///   - logger: Default: a logger labelled `surety.metrics`.
    public init(store: any JobInspectionStore, interval: Duration = .seconds(15), metrics: MetricsOptions = MetricsOptions(),
                clock: any SuretyClock = SystemClock(), logger: Logger = Logger(label: "surety.metrics")) {
        self.store = store
        self.interval = interval
        self.clock = clock
        self.factory = metrics.factory
        self.logger = logger
    }

    public func run() async throws {
        var known: Set<[String]> = []
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                known = try await sampleOnce(previous: known)
            } catch {
                logger.warning("could not sample queue depth", metadata: ["error": "\(error)"])
            }
            // A graceful shutdown ends the wait at once instead of after up to one interval.
            do { try await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) } } catch { return }
        }
    }

    /// Samples once; returns the (queue, state) pairs seen, so pairs that drained to zero are
    /// reported as zero next time instead of keeping their last value.
    @discardableResult
    public func sampleOnce(previous: Set<[String]> = []) async throws -> Set<[String]> {
        let factory = self.factory ?? MetricsSystem.factory
        var depth: [[String]: Int] = [:]
        var dead: [String: Int] = [:]
        for count in try await store.counts() {
            depth[[count.queue, count.state.rawValue], default: 0] += count.count
            if count.state == .dead { dead[count.queue, default: 0] += count.count }
        }
        for pair in previous where depth[pair] == nil { depth[pair] = 0 }
        for (pair, value) in depth {
            Gauge(label: "surety_queue_depth", dimensions: [("queue", pair[0]), ("state", pair[1])], factory: factory).record(value)
        }
        let queues = Set(depth.keys.map { $0[0] })
        for queue in queues {
            Gauge(label: "surety_dead_letter_size", dimensions: [("queue", queue)], factory: factory).record(dead[queue] ?? 0)
        }
        return Set(depth.keys)
    }
}
