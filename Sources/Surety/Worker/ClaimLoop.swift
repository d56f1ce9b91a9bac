import Foundation
import Logging

/// The worker's producer: claims jobs in batches of up to `min(free slots, claimBatchSize)`,
/// starts a child task per claimed job (run by the ``AttemptRunner``), waits for a wake-up or
/// the poll interval when a claim returned fewer than asked, backs off while the store fails,
/// and, once the worker drains, waits up to the grace period for the running attempts before
/// stopping them.
struct ClaimLoop: Sendable {
    let store: any JobStore
    let configuration: WorkerConfiguration
    let clock: any SuretyClock
    let logger: Logger
    let state: SharedWorkerState
    let runner: AttemptRunner

    /// Claims until the worker drains (or its task is cancelled), then drains. Returns once every
    /// attempt it started has ended.
    func run() async {
        // A discarding group: a plain task group keeps every finished child until it is awaited,
        // so a long-running worker's memory would grow with every job it ran.
        await withDiscardingTaskGroup { jobs in
            var failures = 0
            while !state.isDraining && !Task.isCancelled {
                // Let the job tasks that are ready to run end first: jobs finished together free
                // their slots together, and one yield turns a trickle of small claims into one
                // claim of many.
                await Task.yield()
                let free = state.freeSlots
                if free <= 0 {
                    await state.claimWake.wait()
                    continue
                }
                let limit = min(free, configuration.effectiveBatchSize)
                let now = clock.now()
                let claimed: [ClaimedJob]
                do {
                    claimed = try await store.claim(ClaimRequest(
                        queues: configuration.queues, limit: limit, worker: configuration.workerID,
                        now: now, leaseUntil: now.adding(configuration.leaseDuration)
                    ))
                    if failures > 0 { logger.info("store reachable again; claiming resumed") }
                    failures = 0
                    if !claimed.isEmpty { CrashPoints.reach(.claimCommitted) }
                } catch {
                    failures += 1
                    let delay = StoreBackoff.delay(failures: failures)
                    logger.warning("claim failed; backing off", metadata: ["error": "\(error)", "retry_in": "\(delay)", "failures": "\(failures)"])
                    configuration.onEvent?(.storeError("claim: \(error)"))
                    try? await clock.sleep(for: delay)
                    continue
                }
                // The leases are surely held until the claim's sending time plus their duration.
                let controls = state.claimed(claimed.map(\.lease), leaseSurelyHeldUntil: now.adding(configuration.leaseDuration))
                for (job, control) in zip(claimed, controls) {
                    jobs.addTask(executorPreference: globalConcurrentExecutor) { await runner.run(job, control: control) }
                }
                if claimed.count < limit {
                    await state.claimWake.wait(until: now.adding(configuration.pollInterval), clock: clock)
                }
            }
            // From here on, outcomes the store keeps refusing are given up after a few tries
            // instead of holding the shutdown for ever (their leases expire; nothing is lost).
            runner.completer.beginShutdown()
            await drain()
        }
    }

    /// Waits up to the grace period for the running attempts to end, then stops the rest as a
    /// shutdown (recorded `interrupted`, no attempt used).
    private func drain() async {
        guard state.runningCount > 0 else { return }
        let deadline = clock.now().adding(configuration.shutdownGracePeriod)
        while state.runningCount > 0 {
            if Task.isCancelled {
                // Every running attempt was stopped when the cancellation arrived; the task group
                // waits for them to end (a wait here would return at once, in a busy loop).
                state.stopAll(.shutdown)
                return
            }
            if clock.now() >= deadline {
                let stopped = state.stopAll(.shutdown)
                logger.warning("grace period over; cancelling running jobs and releasing them", metadata: ["jobs": "\(stopped)"])
                return
            }
            await state.claimWake.wait(until: deadline, clock: clock)
        }
    }
}
