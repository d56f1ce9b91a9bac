import Foundation
import PostgresNIO
import Surety

extension PostgresStore: ScheduleStore {
    static let scheduleColumns = """
        name, expression, time_zone, job_type, queue, tenant, overlap, missed, paused, changed_by, change_reason,
        changed_at, last_slot, last_job_id, created_at, updated_at
        """

    public func saveSchedules(_ definitions: [ScheduleDefinition], now: Date) async throws {
        guard !definitions.isEmpty else { return }
        let at = Timestamp.micros(now)
        try await transaction("saveSchedules") { [self] connection in
            for d in definitions {
                try await connection.queryIfOpen("""
                    INSERT INTO surety_schedules (name, expression, time_zone, job_type, queue, tenant, overlap, missed, created_at, updated_at)
                    VALUES (\(d.name), \(d.expression), \(d.timeZone), \(d.jobType), \(d.queue), \(d.tenant.rawValue), \(d.overlap), \(d.missed), \(at), \(at))
                    ON CONFLICT (name) DO UPDATE SET
                        expression = excluded.expression, time_zone = excluded.time_zone, job_type = excluded.job_type,
                        queue = excluded.queue, tenant = excluded.tenant, overlap = excluded.overlap, missed = excluded.missed,
                        updated_at = CASE WHEN (surety_schedules.expression, surety_schedules.time_zone, surety_schedules.job_type,
                                                surety_schedules.queue, surety_schedules.tenant, surety_schedules.overlap, surety_schedules.missed)
                            IS NOT DISTINCT FROM (excluded.expression, excluded.time_zone, excluded.job_type, excluded.queue,
                                                  excluded.tenant, excluded.overlap, excluded.missed)
                            THEN surety_schedules.updated_at ELSE excluded.updated_at END
                    """, logger: logger)
            }
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        try await query("schedules", "SELECT \(unescaped: Self.scheduleColumns) FROM surety_schedules ORDER BY name") { rows in
            try await rows.collect(Self.decodeSchedule)
        }
    }

    public func setSchedulePaused(_ name: String, paused: Bool, action: OperatorAction) async throws -> ScheduleRecord? {
        let at = Timestamp.micros(action.at)
        return try await query("setSchedulePaused", """
            UPDATE surety_schedules SET paused = \(paused), changed_by = \(action.actor), change_reason = \(action.reason),
                changed_at = \(at), updated_at = \(at)
            WHERE name = \(name)
            RETURNING \(unescaped: Self.scheduleColumns)
            """) { rows in try await rows.collect(Self.decodeSchedule).first }
    }

    public func recordScheduleSlot(_ name: String, slot: Date, jobID: JobID?) async throws {
        let micros = Timestamp.micros(slot)
        _ = try await query("recordScheduleSlot", """
            UPDATE surety_schedules SET last_slot = \(micros), last_job_id = coalesce(\(jobID?.rawValue)::int8, last_job_id)
            WHERE name = \(name) AND (last_slot IS NULL OR last_slot < \(micros))
            """) { rows in try await rows.collect { _ in 0 } }
    }

    static func decodeSchedule(_ row: PostgresRandomAccessRow) throws -> ScheduleRecord {
        ScheduleRecord(
            definition: ScheduleDefinition(
                name: try row[0].decode(String.self), expression: try row[1].decode(String.self),
                timeZone: try row[2].decode(String.self), jobType: try row[3].decode(String.self),
                queue: try row[4].decode(String.self), tenant: TenantID(unchecked: try row[5].decode(String.self)),
                overlap: try row[6].decode(String.self), missed: try row[7].decode(String.self)
            ),
            paused: try row[8].decode(Bool.self),
            changedBy: try row[9].decode(String?.self), changeReason: try row[10].decode(String?.self),
            changedAt: try row[11].decode(Int64?.self).map(Timestamp.date),
            lastSlot: try row[12].decode(Int64?.self).map(Timestamp.date),
            lastJobID: try row[13].decode(Int64?.self).map { JobID($0) },
            createdAt: Timestamp.date(try row[14].decode(Int64.self)),
            updatedAt: Timestamp.date(try row[15].decode(Int64.self))
        )
    }
}
