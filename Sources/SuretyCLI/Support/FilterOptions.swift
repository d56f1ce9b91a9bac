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

    func validate() throws {
        _ = try parsedCorrelation()
        _ = try parsedTenants()
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
    func filter(states: [JobState], deadReason: DeadReason? = nil, beforeID: JobID? = nil, limit: Int) throws -> JobFilter {
        JobFilter(
            states: states, queues: queue, types: type, tenants: try parsedTenants(), tag: tag,
            correlation: try parsedCorrelation(), deadReason: deadReason, beforeID: beforeID, limit: limit
        )
    }

    /// Whether any filter was given.
    var isEmpty: Bool { queue.isEmpty && type.isEmpty && tenant.isEmpty && tag == nil && correlation.isEmpty }
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
