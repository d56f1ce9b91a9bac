import Foundation
import PostgresNIO
import Surety

extension PostgresStore: RetentionStore {
    /// One statement: picks up to `limit` of the oldest matching jobs with `FOR UPDATE SKIP
    /// LOCKED` (a row another transaction is changing is left for the next pass), deletes them,
    /// and deletes their effect rows; their attempt history goes with them (`ON DELETE CASCADE`).
    public func pruneJobs(in state: JobState, finishedBefore cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0, state.isTerminal else { return 0 }
        let query: PostgresQuery = """
            WITH victims AS (
                SELECT id FROM surety_jobs
                WHERE state = \(state.rawValue) AND finished_at < \(Timestamp.micros(cutoff))
                ORDER BY finished_at, id LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), gone AS (
                DELETE FROM surety_jobs j USING victims v WHERE j.id = v.id RETURNING j.id
            ), effects AS (
                DELETE FROM surety_effects e USING gone g WHERE e.job_id = g.id
            )
            SELECT count(*) FROM gone
            """
        return try await self.query("prune", query) { rows in
            try await rows.collect { try $0[0].decode(Int.self) }.first ?? 0
        }
    }

    public func pruneAudit(before cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let query: PostgresQuery = """
            DELETE FROM surety_audit WHERE id IN (
                SELECT a.id FROM surety_audit a
                WHERE a.at < \(Timestamp.micros(cutoff)) AND NOT EXISTS (SELECT 1 FROM surety_jobs j WHERE j.id = a.job_id)
                ORDER BY a.id LIMIT \(limit)
            )
            RETURNING id
            """
        return try await self.query("prune audit", query) { rows in
            try await rows.collect { try $0[0].decode(Int64.self) }.count
        }
    }

    public func countPrunableJobs(in state: JobState, finishedBefore cutoff: Date) async throws -> Int {
        guard state.isTerminal else { return 0 }
        let query: PostgresQuery = """
            SELECT count(*) FROM surety_jobs WHERE state = \(state.rawValue) AND finished_at < \(Timestamp.micros(cutoff))
            """
        return try await self.query("count prunable", query) { rows in
            try await rows.collect { try $0[0].decode(Int.self) }.first ?? 0
        }
    }

    public func countPrunableAudit(before cutoff: Date) async throws -> Int {
        let query: PostgresQuery = """
            SELECT count(*) FROM surety_audit a
            WHERE a.at < \(Timestamp.micros(cutoff)) AND NOT EXISTS (SELECT 1 FROM surety_jobs j WHERE j.id = a.job_id)
            """
        return try await self.query("count prunable audit", query) { rows in
            try await rows.collect { try $0[0].decode(Int.self) }.first ?? 0
        }
    }
}
