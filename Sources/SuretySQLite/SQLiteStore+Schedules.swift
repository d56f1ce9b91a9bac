import Foundation
import GRDB
import Surety

extension SQLiteStore: ScheduleStore {
    static let scheduleColumns = """
        name, expression, time_zone, job_type, queue, tenant, overlap, missed, paused, changed_by, change_reason,
        changed_at, last_slot, last_job_id, created_at, updated_at
        """

    public func saveSchedules(_ definitions: [ScheduleDefinition], now: Date) async throws {
        guard !definitions.isEmpty else { return }
        for d in definitions {
            try StoreErrors.refuseNUL([d.name, d.expression, d.timeZone, d.jobType, d.queue, d.overlap, d.missed], "a schedule's name, expression, time zone, job type, queue or policy")
        }
        try await write("saveSchedules") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO surety_schedules (name, expression, time_zone, job_type, queue, tenant, overlap, missed, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    expression = excluded.expression, time_zone = excluded.time_zone, job_type = excluded.job_type,
                    queue = excluded.queue, tenant = excluded.tenant, overlap = excluded.overlap, missed = excluded.missed,
                    updated_at = CASE WHEN (expression, time_zone, job_type, queue, tenant, overlap, missed) IS
                        (excluded.expression, excluded.time_zone, excluded.job_type, excluded.queue, excluded.tenant, excluded.overlap, excluded.missed)
                        THEN updated_at ELSE excluded.updated_at END
                """)
            for d in definitions {
                try statement.execute(arguments: [
                    d.name, d.expression, d.timeZone, d.jobType, d.queue, d.tenant.rawValue, d.overlap, d.missed,
                    Timestamp.micros(now), Timestamp.micros(now),
                ])
            }
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await read("schedules") { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.scheduleColumns) FROM surety_schedules ORDER BY name").map(Self.decodeSchedule)
        }
    }

    public func setSchedulePaused(_ name: String, paused: Bool, action: OperatorAction) async throws -> ScheduleRecord? {
        try StoreErrors.refuseNUL([name], "the schedule's name")
        return try await write("setSchedulePaused") { db in
            try db.execute(sql: """
                UPDATE surety_schedules SET paused = ?, changed_by = ?, change_reason = ?, changed_at = ?, updated_at = ?
                WHERE name = ?
                """, arguments: [paused, action.actor, action.reason, Timestamp.micros(action.at), Timestamp.micros(action.at), name])
            return try Row.fetchOne(db, sql: "SELECT \(Self.scheduleColumns) FROM surety_schedules WHERE name = ?", arguments: [name])
                .map(Self.decodeSchedule)
        }
    }

    public func recordScheduleSlot(_ name: String, slot: Date, jobID: JobID?) async throws {
        try StoreErrors.refuseNUL([name], "the schedule's name")
        try await write("recordScheduleSlot") { db in
            try db.execute(sql: """
                UPDATE surety_schedules SET last_slot = ?, last_job_id = coalesce(?, last_job_id)
                WHERE name = ? AND (last_slot IS NULL OR last_slot < ?)
                """, arguments: [Timestamp.micros(slot), jobID?.rawValue, name, Timestamp.micros(slot)])
        }
    }

    static func decodeSchedule(_ row: Row) throws -> ScheduleRecord {
        ScheduleRecord(
            definition: ScheduleDefinition(
                name: try row.decode(String.self, atIndex: 0), expression: try row.decode(String.self, atIndex: 1),
                timeZone: try row.decode(String.self, atIndex: 2), jobType: try row.decode(String.self, atIndex: 3),
                queue: try row.decode(String.self, atIndex: 4), tenant: TenantID(unchecked: try row.decode(String.self, atIndex: 5)),
                overlap: try row.decode(String.self, atIndex: 6), missed: try row.decode(String.self, atIndex: 7)
            ),
            paused: try row.decode(Bool.self, atIndex: 8),
            changedBy: try row.decode(String?.self, atIndex: 9), changeReason: try row.decode(String?.self, atIndex: 10),
            changedAt: try row.decode(Int64?.self, atIndex: 11).map(Timestamp.date),
            lastSlot: try row.decode(Int64?.self, atIndex: 12).map(Timestamp.date),
            lastJobID: try row.decode(Int64?.self, atIndex: 13).map { JobID($0) },
            createdAt: Timestamp.date(try row.decode(Int64.self, atIndex: 14)),
            updatedAt: Timestamp.date(try row.decode(Int64.self, atIndex: 15))
        )
    }
}
