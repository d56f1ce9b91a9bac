import Foundation
import GRDB
import Surety

extension SQLiteStore: RetentionStore {
    /// Finds up to `limit` candidates on a reader connection (the scan never holds the write
    /// lock), then deletes them in one short write transaction that re-checks state and age, so
    /// a job requeued in between is kept. Attempt history and effect rows of the deleted jobs go
    /// in the same transaction.
    public func pruneJobs(in state: JobState, finishedBefore cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0, state.isTerminal else { return 0 }
        let micros = Timestamp.micros(cutoff)
        // The state is an enum raw value inlined as a literal, so SQLite can use a partial index
        // on it (the dead-letter inbox's); every other value is bound.
        let candidates = try await read("prune") { db in
            try Int64.fetchAll(
                db, sql: "SELECT id FROM surety_jobs WHERE state = '\(state.rawValue)' AND finished_at < ? ORDER BY finished_at, id LIMIT ?",
                arguments: [micros, limit]
            )
        }
        guard !candidates.isEmpty else { return 0 }
        return try await write("prune") { db in
            let list = candidates.map(String.init).joined(separator: ",")
            let deleted = try Int64.fetchAll(db, sql: """
                DELETE FROM surety_jobs WHERE id IN (\(list)) AND state = '\(state.rawValue)' AND finished_at < ?
                RETURNING id
                """, arguments: [micros])
            guard !deleted.isEmpty else { return 0 }
            let gone = deleted.map(String.init).joined(separator: ",")
            try db.execute(sql: "DELETE FROM surety_attempts WHERE job_id IN (\(gone))")
            try db.execute(sql: "DELETE FROM surety_effects WHERE job_id IN (\(gone))")
            return deleted.count
        }
    }

    public func pruneAudit(before cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let micros = Timestamp.micros(cutoff)
        let candidates = try await read("prune audit") { db in
            try Int64.fetchAll(db, sql: """
                SELECT a.id FROM surety_audit a
                WHERE a.at < ? AND NOT EXISTS (SELECT 1 FROM surety_jobs j WHERE j.id = a.job_id)
                ORDER BY a.id LIMIT ?
                """, arguments: [micros, limit])
        }
        guard !candidates.isEmpty else { return 0 }
        return try await write("prune audit") { db in
            let list = candidates.map(String.init).joined(separator: ",")
            try db.execute(sql: """
                DELETE FROM surety_audit
                WHERE id IN (\(list)) AND NOT EXISTS (SELECT 1 FROM surety_jobs j WHERE j.id = surety_audit.job_id)
                """)
            return db.changesCount
        }
    }

    public func countPrunableJobs(in state: JobState, finishedBefore cutoff: Date) async throws -> Int {
        guard state.isTerminal else { return 0 }
        return try await read("count prunable") { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM surety_jobs WHERE state = '\(state.rawValue)' AND finished_at < ?",
                arguments: [Timestamp.micros(cutoff)]
            ) ?? 0
        }
    }

    public func countPrunableAudit(before cutoff: Date) async throws -> Int {
        try await read("count prunable audit") { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM surety_audit a
                WHERE a.at < ? AND NOT EXISTS (SELECT 1 FROM surety_jobs j WHERE j.id = a.job_id)
                """, arguments: [Timestamp.micros(cutoff)]) ?? 0
        }
    }
}
