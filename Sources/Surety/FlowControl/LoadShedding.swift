import Foundation

/// The enqueue side of flow control: a queue's ``QueueLimits/maxBacklog`` and
/// ``QueueLimits/overflow`` policy, as pure functions the stores call inside their enqueue
/// transaction (after counting each affected queue's backlog, at most `maxBacklog` rows).
///
/// A batch is checked per queue, counting every new job (a job whose unique key turns out to be
/// held counts too: the check is conservative). With ``OverflowPolicy/reject`` a batch that does
/// not fit whole is refused whole with ``SuretyError/Code/queueFull``; with
/// ``OverflowPolicy/dropNew`` the jobs that fit are inserted, in batch order, and the rest dropped.
package enum LoadShedding {
    /// The limits of the queues in `jobs` that have a maximum backlog.
    package static func bounded(_ jobs: [NewJob], limits: [String: QueueLimits]) -> [String: QueueLimits] {
        guard !limits.isEmpty else { return [:] }
        var bounded: [String: QueueLimits] = [:]
        for job in jobs where bounded[job.queue] == nil {
            if let limit = limits[job.queue], limit.maxBacklog != nil { bounded[job.queue] = limit }
        }
        return bounded
    }

    /// Which jobs to insert (`true`) or drop (`false`), given each bounded queue's current
    /// backlog.
    /// - Throws: ``SuretyError/Code/queueFull`` when a queue with the reject policy cannot take
    ///   its part of the batch.
    package static func admit(_ jobs: [NewJob], bounded: [String: QueueLimits], backlogs: [String: Int]) throws -> [Bool] {
        var room: [String: Int] = [:]
        for (queue, limit) in bounded {
            room[queue] = max(0, (limit.maxBacklog ?? .max) - (backlogs[queue] ?? 0))
        }
        var wanted: [String: Int] = [:]
        for job in jobs where bounded[job.queue] != nil { wanted[job.queue, default: 0] += 1 }
        for (queue, count) in wanted.sorted(by: { $0.key < $1.key }) {
            guard let limit = bounded[queue], limit.overflow == .reject, count > room[queue] ?? 0 else { continue }
            throw SuretyError(
                .queueFull,
                "queue '\(queue)' is full: \(backlogs[queue] ?? 0) jobs waiting, maximum backlog \(limit.maxBacklog ?? 0); refused \(count) new job\(count == 1 ? "" : "s") (nothing was enqueued)"
            )
        }
        return jobs.map { job in
            guard bounded[job.queue] != nil else { return true }
            guard let left = room[job.queue], left > 0 else { return false }
            room[job.queue] = left - 1
            return true
        }
    }

    /// Merges the results of inserting the admitted jobs with dropped entries for the others.
    package static func merge(_ admitted: [Bool], inserted: [EnqueuedJob]) -> [EnqueuedJob] {
        var next = inserted.makeIterator()
        return admitted.map { keep in keep ? (next.next() ?? .dropped) : .dropped }
    }
}

extension EnqueuedJob {
    /// A job that load shedding dropped: not inserted, no id (``JobID/none``).
    public static let dropped = EnqueuedJob(id: .none, inserted: false, dropped: true)
}

extension JobID {
    /// No job: the id of a dropped enqueue. Stores never assign it.
    public static let none = JobID(0)
}
