import Foundation
import Surety

/// `surety worker --schedule 'NAME|CRON|TYPE[|PAYLOAD[|OVERLAP]]'`: a recurring schedule run by
/// the worker's ``Surety/Scheduler``. TYPE is a registered job type (its queue, priority and
/// attempts apply); PAYLOAD is a JSON object (default `{}`); OVERLAP is `skip` (the default),
/// `queue_one` or `allow`. Jobs run for the system tenant, slots in UTC. Every node may run the
/// same schedules: each slot becomes one job (its unique key is the schedule's name and slot).
enum ScheduleArgument {
    static let format = "NAME|CRON|TYPE[|PAYLOAD[|OVERLAP]]"

    /// Parses one `--schedule` value against the job types in `types`.
    /// - Throws: ``Surety/SuretyError/Code/invalidArgument`` naming what is wrong.
    static func parse(_ text: String, types: [any Job.Type]) throws -> Schedule {
        let fields = text.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (3...5).contains(fields.count) else {
            throw SuretyError(.invalidArgument, "--schedule '\(text)' must be \(format), for example 'tick|*/5 * * * * *|demo.noop'")
        }
        let (name, expression, typeName) = (fields[0], fields[1], fields[2])
        guard let type = types.first(where: { $0.name == typeName }) else {
            throw SuretyError(.invalidArgument, "--schedule '\(name)': unknown job type '\(typeName)'; known: \(types.map { $0.name }.sorted().joined(separator: ", "))")
        }
        let payload = fields.count > 3 && !fields[3].isEmpty ? fields[3] : "{}"
        guard (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) is [String: Any] else {
            throw SuretyError(.invalidArgument, "--schedule '\(name)': the payload must be a JSON object, got \(payload)")
        }
        var overlap = OverlapPolicy.skip
        if fields.count > 4, !fields[4].isEmpty {
            guard let parsed = OverlapPolicy(rawValue: fields[4]) else {
                throw SuretyError(.invalidArgument, "--schedule '\(name)': overlap must be skip, queue_one or allow, got '\(fields[4])'")
            }
            overlap = parsed
        }
        let options = type.options
        return try Schedule(
            name: name, cron: try CronExpression(expression), timeZone: try Schedule.timeZone("UTC"), jobType: typeName,
            payload: payload, tenant: .system, queue: options.queue, priority: options.priority, maxAttempts: options.maxAttempts,
            overlap: overlap
        )
    }
}
