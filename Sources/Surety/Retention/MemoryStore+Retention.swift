import Foundation

extension MemoryStore: RetentionStore {
    public func pruneJobs(in state: JobState, finishedBefore cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        return self.state.withLock { store in
            let victims = Self.prunable(store, state: state, cutoff: cutoff).prefix(limit)
            for id in victims {
                store.jobs[id] = nil
                store.tokens[id] = nil
                store.history[id] = nil
            }
            let pruned = Set(victims)
            store.effectOrder.removeAll { key in
                guard pruned.contains(key.jobID) else { return false }
                store.effects[key] = nil
                return true
            }
            return victims.count
        }
    }

    public func pruneAudit(before cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        return state.withLock { store in
            var deleted = 0
            for id in store.audit.keys.sorted() where store.jobs[id] == nil {
                guard deleted < limit, var rows = store.audit[id] else { break }
                var kept: [AuditRecord] = []
                for row in rows {
                    if deleted < limit, row.at < cutoff { deleted += 1 } else { kept.append(row) }
                }
                rows = kept
                store.audit[id] = rows.isEmpty ? nil : rows
            }
            return deleted
        }
    }

    public func countPrunableJobs(in state: JobState, finishedBefore cutoff: Date) async throws -> Int {
        self.state.withLock { Self.prunable($0, state: state, cutoff: cutoff).count }
    }

    public func countPrunableAudit(before cutoff: Date) async throws -> Int {
        state.withLock { store in
            store.audit.filter { store.jobs[$0.key] == nil }.values.reduce(0) { $0 + $1.filter { $0.at < cutoff }.count }
        }
    }

    private static func prunable(_ store: State, state: JobState, cutoff: Date) -> [JobID] {
        guard JobState.terminal.contains(state) else { return [] }
        return store.jobs.values
            .filter { $0.state == state && ($0.finishedAt ?? .distantFuture) < cutoff }
            .map(\.id)
            .sorted()
    }
}
