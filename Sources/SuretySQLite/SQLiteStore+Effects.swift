import Foundation
import GRDB
import Surety

/// The effect ledger in `surety_effects` (see docs/schema.md).
extension SQLiteStore: EffectLedgerStore {
    static let effectColumns = "tenant, job_id, name, key, state, result, attempt, worker, started_at, confirmed_at"

    public func beginEffect(_ key: EffectKey, lease: Lease, attempt: Int, worker: String, now: Date) async throws -> EffectBegin {
        try StoreErrors.refuseNUL(in: key)
        try StoreErrors.refuseNUL([worker], "the worker id")
        return try await write("beginEffect") { db in
            guard try Self.holdsLease(lease, db) else { return .leaseLost }
            if let existing = try Self.fetchEffect(key, db) { return .existing(existing) }
            try db.cachedStatement(sql: """
                INSERT INTO surety_effects (tenant, job_id, name, key, state, attempt, worker, started_at)
                VALUES (?, ?, ?, ?, 'started', ?, ?, ?)
                """).execute(arguments: [
                    key.tenant.rawValue, key.jobID.rawValue, key.name, key.key, attempt, worker, Timestamp.micros(now),
                ])
            return .started
        }
    }

    public func confirmEffect(_ key: EffectKey, result: String, now: Date) async throws {
        try StoreErrors.refuseNUL(in: key)
        try StoreErrors.refuseNUL([result], "the effect's result")
        let now = Timestamp.micros(now)
        try await write("confirmEffect") { db in
            // A confirmation without a started record (recorded by a reconcile) inserts one.
            try db.cachedStatement(sql: """
                INSERT INTO surety_effects (tenant, job_id, name, key, state, result, attempt, worker, started_at, confirmed_at)
                VALUES (?, ?, ?, ?, 'confirmed', ?, 0, '', ?, ?)
                ON CONFLICT (job_id, name, key, tenant) DO UPDATE
                SET state = 'confirmed', result = excluded.result, confirmed_at = excluded.confirmed_at
                WHERE state != 'confirmed'
                """).execute(arguments: [key.tenant.rawValue, key.jobID.rawValue, key.name, key.key, result, now, now])
        }
    }

    public func forgetUnconfirmedEffect(_ key: EffectKey, lease: Lease, startedAttempt: Int) async throws {
        try StoreErrors.refuseNUL(in: key)
        try await write("forgetUnconfirmedEffect") { db in
            guard try Self.holdsLease(lease, db) else { throw SuretyError.effectLeaseLost(key) }
            try db.cachedStatement(sql: """
                DELETE FROM surety_effects
                WHERE job_id = ? AND name = ? AND key = ? AND tenant = ? AND state = 'started' AND attempt = ?
                """).execute(arguments: [key.jobID.rawValue, key.name, key.key, key.tenant.rawValue, startedAttempt])
        }
    }

    /// One write transaction: reads the job's state and the record, changes the record and
    /// writes the audit row, so no claim can start an attempt in between (SQLite has one writer).
    public func resolveEffect(_ key: EffectKey, finding: EffectFinding, action: OperatorAction) async throws -> EffectRecord? {
        try finding.validate(for: key)
        try StoreErrors.refuseNUL(in: key)
        if case .happened(let result) = finding { try StoreErrors.refuseNUL([result], "the effect's result") }
        let at = Timestamp.micros(action.at)
        return try await write("resolveEffect") { db in
            let jobState = try String.fetchOne(
                db.cachedStatement(sql: "SELECT state FROM surety_jobs WHERE id = ? AND tenant = ?"),
                arguments: [key.jobID.rawValue, key.tenant.rawValue]
            )
            let record = try SuretyError.checkResolvable(key, jobState: jobState.flatMap(JobState.init(rawValue:)), record: try Self.fetchEffect(key, db))
            switch finding {
            case .happened(let result):
                try db.cachedStatement(sql: """
                    UPDATE surety_effects SET state = 'confirmed', result = ?, confirmed_at = ?
                    WHERE job_id = ? AND name = ? AND key = ? AND tenant = ? AND state = 'started'
                    """).execute(arguments: [result, at, key.jobID.rawValue, key.name, key.key, key.tenant.rawValue])
            case .didNotHappen:
                try db.cachedStatement(sql: """
                    DELETE FROM surety_effects WHERE job_id = ? AND name = ? AND key = ? AND tenant = ? AND state = 'started'
                    """).execute(arguments: [key.jobID.rawValue, key.name, key.key, key.tenant.rawValue])
            }
            try db.cachedStatement(sql: Self.auditSQL).execute(arguments: [
                key.jobID.rawValue, EffectFinding.auditAction, action.actor, finding.auditReason(for: key, action: action), at,
            ])
            return finding.resolving(record, at: Timestamp.date(at))
        }
    }

    /// Whether the attempt holding `lease` still runs the job (read inside the write, so no
    /// finish or rescue can end it before the ledger write that follows commits).
    static func holdsLease(_ lease: Lease, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM surety_jobs WHERE id = ? AND state = 'running' AND lease_token = ?"),
            arguments: [lease.jobID.rawValue, lease.token]
        ) ?? false
    }

    public func effects(of job: JobID) async throws -> [EffectRecord] {
        try await read("effects") { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(Self.effectColumns) FROM surety_effects WHERE job_id = ? ORDER BY id"),
                arguments: [job.rawValue]
            )
            var records: [EffectRecord] = []
            while let row = try rows.next() { records.append(try Self.decodeEffect(row)) }
            return records
        }
    }

    static func fetchEffect(_ key: EffectKey, _ db: Database) throws -> EffectRecord? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(effectColumns) FROM surety_effects WHERE job_id = ? AND name = ? AND key = ? AND tenant = ?
            """)
        guard let row = try Row.fetchOne(statement, arguments: [key.jobID.rawValue, key.name, key.key, key.tenant.rawValue]) else {
            return nil
        }
        return try decodeEffect(row)
    }

    static func decodeEffect(_ row: Row) throws -> EffectRecord {
        let key = EffectKey(
            tenant: TenantID(unchecked: try row.decode(String.self, atIndex: 0)), jobID: JobID(try row.decode(Int64.self, atIndex: 1)),
            name: try row.decode(String.self, atIndex: 2), key: try row.decode(String.self, atIndex: 3)
        )
        let stateText = try row.decode(String.self, atIndex: 4)
        guard let state = EffectRecord.State(rawValue: stateText) else {
            throw SuretyError(.storeCorrupt, "effect \(key.idempotencyKey) has an unknown state '\(stateText)' in surety_effects; it was written by a newer Surety or by hand")
        }
        return EffectRecord(
            key: key, state: state, result: try row.decode(String?.self, atIndex: 5), attempt: try row.decode(Int.self, atIndex: 6),
            worker: try row.decode(String.self, atIndex: 7), startedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 8)),
            confirmedAt: Timestamp.dateIfPresent(try row.decode(Int64?.self, atIndex: 9))
        )
    }
}
