import Foundation

extension MemoryStore: ScheduleStore {
    public func saveSchedules(_ definitions: [ScheduleDefinition], now: Date) async throws {
        state.withLock { state in
            for definition in definitions {
                if var record = state.schedules[definition.name] {
                    if record.definition != definition {
                        record.definition = definition
                        record.updatedAt = now
                    }
                    state.schedules[definition.name] = record
                } else {
                    state.schedules[definition.name] = ScheduleRecord(definition: definition, createdAt: now, updatedAt: now)
                }
            }
        }
    }

    public func schedules() async throws -> [ScheduleRecord] {
        state.withLock { $0.schedules.values.sorted { $0.definition.name < $1.definition.name } }
    }

    public func setSchedulePaused(_ name: String, paused: Bool, action: OperatorAction) async throws -> ScheduleRecord? {
        state.withLock { state in
            guard var record = state.schedules[name] else { return nil }
            record.paused = paused
            record.changedBy = action.actor
            record.changeReason = action.reason
            record.changedAt = action.at
            record.updatedAt = action.at
            state.schedules[name] = record
            return record
        }
    }

    public func recordScheduleSlot(_ name: String, slot: Date, jobID: JobID?) async throws {
        state.withLock { state in
            guard var record = state.schedules[name] else { return }
            guard record.lastSlot.map({ slot > $0 }) ?? true else { return }
            record.lastSlot = slot
            if let jobID { record.lastJobID = jobID }
            state.schedules[name] = record
        }
    }
}
