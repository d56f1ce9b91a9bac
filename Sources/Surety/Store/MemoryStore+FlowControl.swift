import Foundation

/// Flow control in the memory store: the same decisions as the durable stores
/// (``FlowClaimPlanner``, ``LoadShedding``), over the in-memory jobs, under the store's lock.
extension MemoryStore: FlowControlStore {
    struct FlowState {
        var limits: [String: QueueLimits] = [:]
        /// Rate buckets by queue, then bucket name.
        var buckets: [String: [String: RateBucket]] = [:]
        /// The fairness / key-window cursor per queue.
        var cursors: [String: String] = [:]
    }

    public func queueLimits() async throws -> [QueueLimits] {
        state.withLock { $0.flow.limits.values.sorted { $0.queue < $1.queue } }
    }

    public func setQueueLimits(_ limits: QueueLimits) async throws {
        try limits.validate()
        state.withLock { $0.flow.limits[limits.queue] = limits }
    }

    @discardableResult
    public func removeQueueLimits(queue: String) async throws -> Bool {
        state.withLock { state in
            state.flow.buckets[queue] = nil
            state.flow.cursors[queue] = nil
            return state.flow.limits.removeValue(forKey: queue) != nil
        }
    }

    static func admit(_ jobs: [NewJob], _ state: inout State) throws -> [Bool] {
        let bounded = LoadShedding.bounded(jobs, limits: state.flow.limits)
        guard !bounded.isEmpty else { return Array(repeating: true, count: jobs.count) }
        var backlogs: [String: Int] = [:]
        for job in state.jobs.values where bounded[job.queue] != nil && JobState.claimable.contains(job.state) {
            backlogs[job.queue, default: 0] += 1
        }
        return try LoadShedding.admit(jobs, bounded: bounded, backlogs: backlogs)
    }

    static func claimLimited(_ state: inout State, queue: String, limit: Int, request: ClaimRequest) -> [ClaimedJob] {
        guard let limits = state.flow.limits[queue] else { return [] }
        let now = request.now
        typealias Waiting = (id: JobID, priority: Int, runAt: Date, key: String?)
        var running = 0
        var runningPerKey: [String: Int] = [:]
        // Light tuples, not whole records: a flooded queue holds many waiting jobs.
        var waiting: [Waiting] = []
        for (id, job) in state.jobs where job.queue.sameBytes(queue) {
            if job.state == .running {
                running += 1
                if let key = job.partitionKey { runningPerKey[key, default: 0] += 1 }
            } else if JobState.claimable.contains(job.state) {
                waiting.append((id, job.priority, job.runAt, job.partitionKey))
            }
        }
        let allowance = FlowClaimPlanner.allowance(limits, limit: limit, running: running)
        guard allowance > 0 else { return [] }
        let urgency: (Waiting, Waiting) -> Bool = { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
        var buckets = state.flow.buckets[queue] ?? [:]
        var chosen: [JobID] = []

        if !FlowClaimPlanner.needsKeys(limits) {
            let (bucket, tokens) = FlowClaimPlanner.queueTokens(limits, bucket: buckets[FlowClaimPlanner.queueBucket], now: now)
            let take = min(allowance, tokens)
            chosen = waiting.filter { $0.runAt <= now }.sorted(by: urgency).prefix(take).map(\.id)
            if let bucket { buckets[FlowClaimPlanner.queueBucket] = FlowClaimPlanner.consume(chosen.count, from: bucket, limits) }
        } else {
            var byKey: [String: [Waiting]] = [:]
            var unkeyed: [Waiting] = []
            for job in waiting {
                if let key = job.key { byKey[key, default: []].append(job) } else if job.runAt <= now { unkeyed.append(job) }
            }
            let keys = byKey.keys.sorted()
            let window = FlowClaimPlanner.keyWindow(limit: limit)
            let cursor = state.flow.cursors[queue]
            var rotation = Array(keys.filter { cursor == nil || $0 > cursor! }.prefix(window))
            if rotation.count < window, cursor != nil {
                rotation += keys.filter { $0 <= cursor! }.prefix(window - rotation.count)
            }
            let fetch = FlowClaimPlanner.perKeyFetch(limits, limit: limit, keys: rotation.count)
            let groups = rotation.map { key -> FlowClaimPlanner.KeyGroup in
                let jobs = byKey[key, default: []]
                let picked: [Waiting]
                if limits.isOrdered {
                    picked = jobs.min { $0.id < $1.id }.map { [$0] } ?? []
                } else {
                    picked = Array(jobs.filter { $0.runAt <= now }.sorted { $0.id < $1.id }.prefix(fetch))
                }
                return .init(key: key, jobs: picked.map { .init(id: $0.id, priority: $0.priority, runAt: $0.runAt) })
            }
            let plan = FlowClaimPlanner.plan(.init(
                limits: limits, limit: limit, now: now, runningTotal: running, runningPerKey: runningPerKey,
                keyed: groups, windowComplete: rotation.count == keys.count,
                unkeyed: unkeyed.sorted(by: urgency).prefix(limit).map { .init(id: $0.id, priority: $0.priority, runAt: $0.runAt) },
                buckets: buckets
            ))
            chosen = plan.ids
            for (name, bucket) in plan.buckets { buckets[name] = bucket }
            state.flow.cursors[queue] = plan.cursor
        }
        state.flow.buckets[queue] = buckets
        return chosen.compactMap { id in Self.claim(id, request, &state) }
    }
}
