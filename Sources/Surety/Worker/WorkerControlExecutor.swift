import Dispatch

/// Where a busy worker's claim loop and outcome batcher run: a serial dispatch queue of their own,
/// apart from the concurrency runtime's threads that run the jobs.
///
/// On the shared threads, a claim loop or batcher woken by a job's end was queued behind every
/// job task that was ready to run, so a claim's jobs all ran before their outcomes were handed to
/// the store or the next claim was made, and then the jobs waited while both were written: the
/// store and the jobs took turns instead of working at once (a trace of one drain showed 3.7 ms
/// of jobs, then 1.5 ms of writing, per claim of about 240 jobs). On a queue of their own they
/// resume as soon as a job signals them, so outcomes and claims are written while other jobs run.
/// Measured with interleaved runs of `surety bench --jobs 20000 --concurrency N` on SQLite NORMAL
/// (docs/benchmarks.md): about +10 % at 256 slots, +9 to +16 % at 512, +4 % at 64, and 2–8 %
/// slower at 16, where the extra thread hand-off per small claim costs more than the overlap
/// gains; so a worker below ``minimumConcurrency`` slots keeps them on the shared threads.
/// Job tasks are always started on the runtime's global executor.
final class WorkerControlExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is a DispatchQueue, which is thread-safe.
    private let queue: DispatchQueue

    /// The fewest slots for which a worker uses its own control queue. Default: 64.
    static let minimumConcurrency = 64

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// The executor for a worker with this configuration, or `nil` (the shared threads) below
    /// ``minimumConcurrency`` slots.
    static func forWorker(_ configuration: WorkerConfiguration) -> WorkerControlExecutor? {
        configuration.concurrency >= minimumConcurrency ? WorkerControlExecutor(label: "surety.worker.control") : nil
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
