import Foundation
import Synchronization

/// A store that keeps jobs in memory: for unit tests of job code only. It runs the pure
/// ``JobLifecycle`` transitions and passes the same conformance suite as the durable stores,
/// but everything is lost when the process ends.
public final class MemoryStore: JobStore, JobInspectionStore, OperatorActionStore, AvailabilitySignalStore, EffectLedgerStore {
    struct State {
        var jobs: [JobID: JobRecord] = [:]
        var tokens: [JobID: Int64] = [:]
        var history: [JobID: [AttemptRecord]] = [:]
        var audit: [JobID: [AuditRecord]] = [:]
        var effects: [EffectKey: EffectRecord] = [:]
        var effectOrder: [EffectKey] = []
        var nextID: Int64 = 1
        /// Flow control (MemoryStore+FlowControl.swift).
        var flow = FlowState()
        /// Pending cancel requests of running jobs (see MemoryStore+Cancellation.swift).
        var cancelRequests: [JobID: OperatorAction] = [:]
        /// Schedules by name (see MemoryStore+Schedules.swift).
        var schedules: [String: ScheduleRecord] = [:]
        /// Workflows and which job belongs to which step (see MemoryStore+Workflows.swift).
        var workflows = WorkflowTables()
    }

    let state = Mutex(State())
    private let availability = AvailabilityBroadcaster()
    /// Alert states (MemoryStore+Alerts.swift).
    let alertStateTable = Mutex<[String: AlertStateRecord]>([:])

    public init() {}

    public func migrate() async throws {}

    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueuedJob] {
        let results = try state.withLock { state -> [EnqueuedJob] in
            let admitted = try Self.admit(jobs, &state)
            let inserted = zip(jobs, admitted).filter(\.1).map(\.0).map { new in
                if let key = new.uniqueKey,
                   let holder = state.jobs.values.first(where: {
                       $0.tenant == new.tenant && key.sameBytes($0.uniqueKey) && JobLifecycle.holdsUniqueKey($0)
                   }) {
                    return EnqueuedJob(id: holder.id, inserted: false)
                }
                let id = JobID(state.nextID)
                state.nextID += 1
                state.jobs[id] = JobRecord(
                    id: id, type: new.type, queue: new.queue, priority: new.priority, tenant: new.tenant,
                    state: new.initialState, payload: new.payload, attempt: 0, maxAttempts: new.maxAttempts,
                    runAt: new.runAt, enqueuedAt: new.enqueuedAt, uniqueKey: new.uniqueKey,
                    uniqueScope: new.uniqueScope, tags: new.tags, correlation: new.correlation,
                    partitionKey: new.partitionKey,
                    traceContext: new.traceContext
                )
                return EnqueuedJob(id: id, inserted: true)
            }
            return LoadShedding.merge(admitted, inserted: inserted)
        }
        if results.contains(where: \.inserted) { signal() }
        return results
    }

    public func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] {
        state.withLock { state in
            // Queues with limits are claimed by the flow-control path (MemoryStore+FlowControl.swift).
            var limit = max(0, request.limit)
            var claimed: [ClaimedJob] = []
            var queues = request.queues
            if !state.flow.limits.isEmpty {
                queues = []
                var seen: Set<String> = []
                for queue in request.queues where seen.insert(queue).inserted {
                    if state.flow.limits[queue]?.limitsClaims == true {
                        if limit > 0 {
                            claimed += Self.claimLimited(&state, queue: queue, limit: limit, request: request)
                            limit = max(0, request.limit) - claimed.count
                        }
                    } else {
                        queues.append(queue)
                    }
                }
            }
            let due = state.jobs.values
                .filter { job in queues.contains { $0.sameBytes(job.queue) } && JobLifecycle.isClaimable(job, now: request.now) }
                .sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
                .prefix(limit)
            return claimed + due.compactMap { job in Self.claim(job.id, request, &state) }
        }
    }

    public func heartbeat(_ leases: [Lease], until: Date) async throws -> [Lease] {
        state.withLock { state in
            leases.filter { lease in
                guard var job = state.jobs[lease.jobID],
                      JobLifecycle.holdsLease(job, currentToken: state.tokens[lease.jobID], lease: lease) else { return true }
                job.leaseUntil = until
                state.jobs[lease.jobID] = job
                return false
            }
        }
    }

    public func finish(_ finishes: [AttemptFinish]) async throws -> [FenceResult] {
        var wake = false
        let results = state.withLock { state in
            let results = finishes.map { finish -> FenceResult in
                let id = finish.lease.jobID
                guard case .success(var next) = Self.apply(.finish(finish), to: id, &state) else { return .leaseLost }
                if let request = state.cancelRequests.removeValue(forKey: id),
                   case .success(let cancelled) = Self.apply(.cancelOnRequest(actor: request.actor, reason: request.reason, at: finish.endedAt), to: id, &state) {
                    next = cancelled
                }
                if next.state == .available { wake = true }
                return .applied
            }
            // Workflow steps advance under the same lock as the finish (MemoryStore+Workflows.swift).
            if let ended = finishes.last?.endedAt, Self.advanceWorkflows(&state, ended: finishes.map(\.lease.jobID), at: ended) {
                wake = true
            }
            return results
        }
        if wake { signal() }
        return results
    }

    public func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] {
        state.withLock { state in
            state.jobs.values
                .filter { $0.state == .running && ($0.leaseUntil ?? .distantFuture) <= now }
                .sorted { ($0.leaseUntil ?? now, $0.id) < ($1.leaseUntil ?? now, $1.id) }
                .prefix(max(0, limit))
                .map { job in
                    ExpiredLease(
                        job: ClaimedJob(record: job, leaseToken: state.tokens[job.id] ?? 0, now: now),
                        worker: job.attemptedBy ?? "unknown", startedAt: job.attemptedAt ?? now
                    )
                }
        }
    }

    public func job(_ id: JobID) async throws -> JobRecord? {
        state.withLock { $0.jobs[id] }
    }

    public func jobs(_ filter: JobFilter) async throws -> [JobRecord] {
        state.withLock { state in
            Array(state.jobs.values.filter(filter.matches).sorted { $0.id > $1.id }.prefix(max(0, filter.limit)))
        }
    }

    public func attempts(of id: JobID) async throws -> [AttemptRecord] {
        state.withLock { state in
            var records = state.history[id] ?? []
            if let job = state.jobs[id], let current = JobLifecycle.attemptOnJobRow(job) { records.append(current) }
            return records
        }
    }

    public func audit(of id: JobID) async throws -> [AuditRecord] {
        state.withLock { $0.audit[id] ?? [] }
    }

    public func requeue(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let result = apply(ids, .requeue(action), action: action, name: "requeue") { state, job in
            guard let key = job.uniqueKey, job.uniqueScope == .whileActive,
                  let holder = state.jobs.values.first(where: { $0.id != job.id && $0.tenant == job.tenant && key.sameBytes($0.uniqueKey) && JobLifecycle.holdsUniqueKey($0) })
            else { return nil }
            return JobLifecycle.SkipReason("unique key is held by job \(holder.id)")
        }
        if !result.changed.isEmpty { signal() }
        return result
    }

    public func discard(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        apply(ids, .discard(action), action: action, name: "discard")
    }

    public func cancel(_ ids: [JobID], action: OperatorAction) async throws -> BulkResult {
        let result = apply(ids, .cancel(action), action: action, name: "cancel")
        if state.withLock({ Self.advanceWorkflows(&$0, ended: result.changed, at: action.at) }) { signal() }
        return result
    }

    public func counts() async throws -> [JobCount] {
        state.withLock { state in
            var groups: [JobCount] = []
            let grouped = Dictionary(grouping: state.jobs.values) { "\($0.queue)\u{0}\($0.type)\u{0}\($0.state.rawValue)" }
            for (_, jobs) in grouped {
                let first = jobs[0]
                groups.append(JobCount(queue: first.queue, type: first.type, state: first.state, count: jobs.count))
            }
            return groups.sorted { ($0.queue, $0.type, $0.state.rawValue) < ($1.queue, $1.type, $1.state.rawValue) }
        }
    }

    public func beginEffect(_ key: EffectKey, lease: Lease, attempt: Int, worker: String, now: Date) async throws -> EffectBegin {
        state.withLock { state in
            guard let job = state.jobs[lease.jobID], JobLifecycle.holdsLease(job, currentToken: state.tokens[job.id], lease: lease) else { return .leaseLost }
            if let existing = state.effects[key] { return .existing(existing) }
            state.effects[key] = EffectRecord(key: key, state: .started, result: nil, attempt: attempt, worker: worker, startedAt: now, confirmedAt: nil)
            state.effectOrder.append(key)
            return .started
        }
    }

    public func confirmEffect(_ key: EffectKey, result: String, now: Date) async throws {
        state.withLock { state in
            guard var record = state.effects[key] else {
                state.effects[key] = EffectRecord(key: key, state: .confirmed, result: result, attempt: 0, worker: "", startedAt: now, confirmedAt: now)
                state.effectOrder.append(key)
                return
            }
            guard record.state != .confirmed else { return }
            record.state = .confirmed
            record.result = result
            record.confirmedAt = now
            state.effects[key] = record
        }
    }

    public func forgetUnconfirmedEffect(_ key: EffectKey, lease: Lease, startedAttempt: Int) async throws {
        try state.withLock { state in
            guard let job = state.jobs[lease.jobID], JobLifecycle.holdsLease(job, currentToken: state.tokens[job.id], lease: lease) else {
                throw SuretyError.effectLeaseLost(key)
            }
            guard let record = state.effects[key], record.state == .started, record.attempt == startedAttempt else { return }
            state.effects[key] = nil
            state.effectOrder.removeAll { $0 == key }
        }
    }

    public func effects(of job: JobID) async throws -> [EffectRecord] {
        state.withLock { state in state.effectOrder.filter { $0.jobID == job }.compactMap { state.effects[$0] } }
    }

    public func resolveEffect(_ key: EffectKey, finding: EffectFinding, action: OperatorAction) async throws -> EffectRecord? {
        try finding.validate(for: key)
        return try state.withLock { state in
            let job = state.jobs[key.jobID].flatMap { $0.tenant == key.tenant ? $0 : nil }
            let record = try SuretyError.checkResolvable(key, jobState: job?.state, record: state.effects[key])
            let resolved = finding.resolving(record, at: action.at)
            state.effects[key] = resolved
            if resolved == nil { state.effectOrder.removeAll { $0 == key } }
            state.audit[key.jobID, default: []].append(AuditRecord(
                jobID: key.jobID, action: EffectFinding.auditAction, actor: action.actor,
                reason: finding.auditReason(for: key, action: action), at: action.at
            ))
            return resolved
        }
    }

    public func availabilitySignals() -> AsyncStream<Void> { availability.subscribe() }

    func signal() { availability.signal() }

    /// An operator's `event` on each job in turn, each applied with an audit row; `refusal` is
    /// the store's own check beyond the transition's guard (a requeue's unique key).
    private func apply(
        _ ids: [JobID], _ event: JobEvent, action: OperatorAction, name: String,
        refusal: (State, JobRecord) -> JobLifecycle.SkipReason? = { _, _ in nil }
    ) -> BulkResult {
        state.withLock { state in
            var result = BulkResult()
            for id in ids {
                guard let job = state.jobs[id] else {
                    result.skipped.append(.init(id: id, reason: "no such job"))
                    continue
                }
                if let skip = refusal(state, job) {
                    result.skipped.append(.init(id: id, reason: skip.message))
                    continue
                }
                switch Self.apply(event, to: id, &state) {
                case .success:
                    state.audit[id, default: []].append(AuditRecord(jobID: id, action: name, actor: action.actor, reason: action.reason, at: action.at))
                    result.changed.append(id)
                case .failure(let skip):
                    result.skipped.append(.init(id: id, reason: skip.message))
                }
            }
            return result
        }
    }
}

extension String {
    /// Byte-for-byte equality, as the SQL stores compare text. `==` is canonical equivalence
    /// (`é` equals `e\u{301}` there), which made the memory store treat two unique keys or queue
    /// names as one where SQLite and PostgreSQL keep them apart, and normalises a long run of
    /// combining marks on every comparison (issue 17).
    func sameBytes(_ other: String?) -> Bool {
        guard var other, utf8.count == other.utf8.count else { return false }
        var this = self
        return this.withUTF8 { a in other.withUTF8 { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }
}
