import ArgumentParser
import Foundation
import Surety

/// The filters shared by `jobs list` and the `dlq` commands.
struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only jobs in this queue (repeatable).", valueName: "queue"))
    var queue: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only jobs of this type (repeatable).", valueName: "type"))
    var type: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only jobs of this tenant (repeatable; @system for system jobs).", valueName: "tenant"))
    var tenant: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only jobs carrying this tag.", valueName: "tag"))
    var tag: String?

    @Option(name: .long, help: ArgumentHelp("Only jobs with this correlation id, as key=value (repeatable: all must match).", valueName: "key=value"))
    var correlation: [String] = []

    @Option(name: .customLong("error-type"), help: ArgumentHelp("Only jobs whose last error has this type, for example Timeout (repeatable).", valueName: "type"))
    var errorType: [String] = []

    @Option(name: .customLong("error-class"), help: ArgumentHelp("Only jobs whose last error has this class: transient or permanent.", valueName: "class"))
    var errorClass: String?

    @Option(name: .customLong("enqueued-after"), help: ArgumentHelp("Only jobs enqueued at or after this time (ISO 8601, or an age such as 2h).", valueName: "time"))
    var enqueuedAfter: String?

    @Option(name: .customLong("enqueued-before"), help: ArgumentHelp("Only jobs enqueued before this time (ISO 8601, or an age such as 2h).", valueName: "time"))
    var enqueuedBefore: String?

    @Option(name: .customLong("finished-after"), help: ArgumentHelp("Only jobs that finished (completed, died or were cancelled) at or after this time (ISO 8601, or an age such as 2h).", valueName: "time"))
    var finishedAfter: String?

    @Option(name: .customLong("finished-before"), help: ArgumentHelp("Only jobs that finished before this time (ISO 8601, or an age such as 2h).", valueName: "time"))
    var finishedBefore: String?

    func validate() throws {
        _ = try parsedCorrelation()
        _ = try parsedTenants()
        _ = try parsedErrorClass()
        _ = try parsedTimes(now: Date())
    }

    func parsedErrorClass() throws -> ErrorClass? {
        guard let errorClass else { return nil }
        guard let parsed = ErrorClass(rawValue: errorClass.lowercased()) else {
            throw ValidationError("--error-class must be transient or permanent, got '\(errorClass)'")
        }
        return parsed
    }

    /// The time bounds, relative ages measured from `now`.
    func parsedTimes(now: Date) throws -> (enqueuedAfter: Date?, enqueuedBefore: Date?, finishedAfter: Date?, finishedBefore: Date?) {
        func parse(_ text: String?, _ option: String) throws -> Date? {
            try text.map { try TimeArguments.time($0, option: option, now: now) }
        }
        return (
            try parse(enqueuedAfter, "--enqueued-after"), try parse(enqueuedBefore, "--enqueued-before"),
            try parse(finishedAfter, "--finished-after"), try parse(finishedBefore, "--finished-before")
        )
    }

    func parsedCorrelation() throws -> [String: String] {
        try CorrelationParser.parse(correlation)
    }

    func parsedTenants() throws -> [TenantID] {
        try tenant.map { value in
            do { return try TenantID(value) } catch let error as SuretyError { throw ValidationError("--tenant: \(error.message)") }
        }
    }

    /// The filter for these options with the given states, dead reason, paging and limit.
    func filter(states: [JobState], deadReason: DeadReason? = nil, beforeID: JobID? = nil, limit: Int, now: Date = Date()) throws -> JobFilter {
        let times = try parsedTimes(now: now)
        var filter = JobFilter(
            states: states, queues: queue, types: type, tenants: try parsedTenants(), tag: tag,
            correlation: try parsedCorrelation(), deadReason: deadReason,
            enqueuedAfter: times.enqueuedAfter, enqueuedBefore: times.enqueuedBefore, beforeID: beforeID, limit: limit
        )
        filter.errorTypes = errorType
        filter.errorClass = try parsedErrorClass()
        filter.finishedAfter = times.finishedAfter
        filter.finishedBefore = times.finishedBefore
        return filter
    }

    /// Whether any filter was given.
    var isEmpty: Bool {
        queue.isEmpty && type.isEmpty && tenant.isEmpty && tag == nil && correlation.isEmpty && errorType.isEmpty
            && errorClass == nil && enqueuedAfter == nil && enqueuedBefore == nil && finishedAfter == nil && finishedBefore == nil
    }
}

/// `--limit` and `--before-id` for listings.
struct PagingOptions: ParsableArguments {
    @Option(name: .long, help: "The most jobs to list, newest first (1 to 10000).")
    var limit: Int = 100

    @Option(name: .customLong("before-id"), help: ArgumentHelp("Only jobs with an id below this one (the next page: pass the last id shown).", valueName: "id"))
    var beforeID: Int64?

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000, got \(limit)") }
        if let beforeID, beforeID < 1 { throw ValidationError("--before-id must be a positive job id") }
    }

    var before: JobID? { beforeID.map { JobID(rawValue: $0) } }
}

enum CorrelationParser {
    /// Parses `key=value` pairs.
    static func parse(_ pairs: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--correlation expects key=value, got '\(pair)'")
            }
            let key = String(pair[..<equals])
            let value = String(pair[pair.index(after: equals)...])
            guard !value.isEmpty else { throw ValidationError("--correlation '\(key)' has an empty value") }
            result[key] = value
        }
        return result
    }
}

enum StateParser {
    static func parse(_ values: [String]) throws -> [JobState] {
        try values.map { value in
            guard let state = JobState(rawValue: value.lowercased()) else {
                let known = JobState.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown state '\(value)'; states are: \(known)")
            }
            return state
        }
    }

    static func parseDeadReason(_ value: String?) throws -> DeadReason? {
        guard let value else { return nil }
        guard let reason = DeadReason(rawValue: value.lowercased()) else {
            let known = DeadReason.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown dead reason '\(value)'; reasons are: \(known)")
        }
        return reason
    }
}
