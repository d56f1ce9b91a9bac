import Foundation
import PostgresNIO
import Surety

/// The effect ledger in `surety_effects` (see docs/schema.md).
extension PostgresStore: EffectLedgerStore {
    static let effectColumns = "tenant, job_id, name, key, state, result, attempt, worker, started_at, confirmed_at"

    public func beginEffect(_ key: EffectKey, lease: Lease, attempt: Int, worker: String, now: Date) async throws -> EffectBegin {
        // The common case, a first record under a held lease, is one statement shared with the
        // first records of concurrent calls (effectBegins, a group commit): the job rows are
        // locked FOR SHARE and the rows inserted in the same statement, so a concurrent finish
        // cannot end the attempt in between. Anything else (a record exists, the lease is not
        // held) takes the transaction below, which tells them apart.
        let item = BeginFirstEffects.Item(key: key, token: lease.token, attempt: attempt, worker: worker, now: Timestamp.micros(now))
        let began = try await effectBegins.write([item]) { items in try await self.beginFirstEffects(items) }
        if began.first == true { return .started }
        return try await transaction("beginEffect") { [self] connection in
            // The lease first: a stale attempt learns nothing of an existing record. The job row
            // is locked in share mode, so a concurrent finish cannot end the attempt between this
            // check and the insert.
            guard try await Self.holdsLease(lease, connection, logger: logger) else { return .leaseLost }
            if let existing = try await Self.fetchEffect(key, connection, logger: logger) { return .existing(existing) }
            let inserted = try await connection.queryIfOpen("""
                INSERT INTO surety_effects (tenant, job_id, name, key, state, attempt, worker, started_at)
                VALUES (\(key.tenant.rawValue), \(key.jobID.rawValue), \(key.name), \(key.key), 'started', \(attempt), \(worker), \(Timestamp.micros(now)))
                ON CONFLICT DO NOTHING
                RETURNING id
                """, logger: logger).collect { _ in true }
            if !inserted.isEmpty { return .started }
            // Another attempt recorded it meanwhile.
            guard let existing = try await Self.fetchEffect(key, connection, logger: logger) else {
                throw SuretyError(.storeCorrupt, "effect \(key.idempotencyKey) conflicted but cannot be read; check the surety_effects_key index")
            }
            return .existing(existing)
        }
    }

    public func confirmEffect(_ key: EffectKey, result: String, now: Date) async throws {
        // Shared with the confirmations of concurrent calls (effectConfirms, a group commit).
        let item = ConfirmEffects.Item(key: key, result: result, now: Timestamp.micros(now))
        _ = try await effectConfirms.write([item]) { items in
            _ = try await self.execute("confirmEffect", ConfirmEffects(items: items))
            return Array(repeating: true, count: items.count)
        }
    }

    /// Runs ``BeginFirstEffects`` for a group; for each item, whether its `started` row was
    /// inserted under its held lease. A key that appears twice in the group is answered for its
    /// first item only (the later ones take the transaction, which finds the record).
    func beginFirstEffects(_ items: [BeginFirstEffects.Item]) async throws -> [Bool] {
        let rows = try await execute("beginEffect", BeginFirstEffects(items: items))
        guard rows.count == items.count else {
            throw SuretyError(.storeCorrupt, "beginEffect: the database answered \(rows.count) rows for \(items.count) effects")
        }
        var seen: Set<EffectKey> = []
        return zip(items, rows).map { item, row in seen.insert(item.key).inserted && row.held && row.inserted }
    }

    public func forgetUnconfirmedEffect(_ key: EffectKey, lease: Lease, startedAttempt: Int) async throws {
        try await transaction("forgetUnconfirmedEffect") { [self] connection in
            guard try await Self.holdsLease(lease, connection, logger: logger) else { throw SuretyError.effectLeaseLost(key) }
            try await connection.queryIfOpen("""
                DELETE FROM surety_effects
                WHERE job_id = \(key.jobID.rawValue) AND name = \(key.name) AND key = \(key.key) AND tenant = \(key.tenant.rawValue)
                  AND state = 'started' AND attempt = \(startedAttempt)
                """, logger: logger)
        }
    }

    /// One transaction: locks the job row (`FOR UPDATE`, so no claim starts an attempt until it
    /// commits) and the record, changes the record and writes the audit row.
    public func resolveEffect(_ key: EffectKey, finding: EffectFinding, action: OperatorAction) async throws -> EffectRecord? {
        try finding.validate(for: key)
        let at = Timestamp.micros(action.at)
        return try await transaction("resolveEffect") { [self] connection in
            let jobState = try await connection.queryIfOpen("""
                SELECT state FROM surety_jobs WHERE id = \(key.jobID.rawValue) AND tenant = \(key.tenant.rawValue) FOR UPDATE
                """, logger: logger).collect { try $0[0].decode(String.self) }.first
            let locked = try await connection.queryIfOpen("""
                SELECT \(unescaped: Self.effectColumns) FROM surety_effects
                WHERE job_id = \(key.jobID.rawValue) AND name = \(key.name) AND key = \(key.key) AND tenant = \(key.tenant.rawValue)
                FOR UPDATE
                """, logger: logger).collect { try Self.decodeEffect($0) }.first
            let record = try SuretyError.checkResolvable(key, jobState: jobState.flatMap(JobState.init(rawValue:)), record: locked)
            switch finding {
            case .happened(let result):
                try await connection.queryIfOpen("""
                    UPDATE surety_effects SET state = 'confirmed', result = \(result), confirmed_at = \(at)
                    WHERE job_id = \(key.jobID.rawValue) AND name = \(key.name) AND key = \(key.key) AND tenant = \(key.tenant.rawValue)
                      AND state = 'started'
                    """, logger: logger)
            case .didNotHappen:
                try await connection.queryIfOpen("""
                    DELETE FROM surety_effects
                    WHERE job_id = \(key.jobID.rawValue) AND name = \(key.name) AND key = \(key.key) AND tenant = \(key.tenant.rawValue)
                      AND state = 'started'
                    """, logger: logger)
            }
            try await connection.queryIfOpen("""
                INSERT INTO surety_audit (job_id, action, actor, reason, at)
                VALUES (\(key.jobID.rawValue), \(EffectFinding.auditAction), \(action.actor), \(finding.auditReason(for: key, action: action)), \(at))
                """, logger: logger)
            return finding.resolving(record, at: Timestamp.date(at))
        }
    }

    /// Whether the attempt holding `lease` still runs the job; locks the job row in share mode
    /// until the transaction ends, so no finish or rescue ends the attempt before the ledger
    /// write that follows commits.
    static func holdsLease(_ lease: Lease, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let held = try await connection.queryIfOpen("""
            SELECT 1 FROM surety_jobs WHERE id = \(lease.jobID.rawValue) AND state = 'running' AND lease_token = \(lease.token) FOR SHARE
            """, logger: logger).collect { _ in true }
        return !held.isEmpty
    }

    public func effects(of job: JobID) async throws -> [EffectRecord] {
        try await query("effects", "SELECT \(unescaped: Self.effectColumns) FROM surety_effects WHERE job_id = \(job.rawValue) ORDER BY id") { rows in
            try await rows.collect { try Self.decodeEffect($0) }
        }
    }

    static func fetchEffect(_ key: EffectKey, _ connection: PostgresConnection, logger: Logger) async throws -> EffectRecord? {
        try await connection.queryIfOpen("""
            SELECT \(unescaped: effectColumns) FROM surety_effects
            WHERE job_id = \(key.jobID.rawValue) AND name = \(key.name) AND key = \(key.key) AND tenant = \(key.tenant.rawValue)
            """, logger: logger).collect { try decodeEffect($0) }.first
    }

    static func decodeEffect(_ row: PostgresRandomAccessRow) throws -> EffectRecord {
        let key = EffectKey(
            tenant: TenantID(unchecked: try row[0].decode(String.self)), jobID: JobID(try row[1].decode(Int64.self)),
            name: try row[2].decode(String.self), key: try row[3].decode(String.self)
        )
        let stateText = try row[4].decode(String.self)
        guard let state = EffectRecord.State(rawValue: stateText) else {
            throw SuretyError(.storeCorrupt, "effect \(key.idempotencyKey) has an unknown state '\(stateText)' in surety_effects; it was written by a newer Surety or by hand")
        }
        return EffectRecord(
            key: key, state: state, result: try row[5].decode(String?.self), attempt: try row[6].decode(Int.self),
            worker: try row[7].decode(String.self), startedAt: Timestamp.date(try row[8].decode(Int64.self)),
            confirmedAt: Timestamp.dateIfPresent(try row[9].decode(Int64?.self))
        )
    }
}
