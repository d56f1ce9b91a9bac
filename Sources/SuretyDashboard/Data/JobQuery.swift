import Foundation
import Surety

/// The job list's filters, parsed from a query string (`state`, `queue`, `type`, `tenant`,
/// `since`, `until`, `before`, `limit`), the same for pages and the JSON API.
struct JobQuery: Sendable {
    var states: [JobState] = []
    var queue: String?
    var type: String?
    var tenant: String?
    /// `15m`, `1h`, `24h`, `7d` or an ISO 8601 time: jobs enqueued at or after it.
    var since: String?
    /// An ISO 8601 time or a relative age: jobs enqueued before it.
    var until: String?
    var before: Int64?
    var limit: Int = 50

    static let maximumLimit = 500
    /// Matches no job: valid tenant ids never contain control characters.
    static let noTenant = TenantID(unchecked: "\u{1}none")

    init() {}

    init(form: FormData) throws {
        for value in form.all("state") where !value.isEmpty {
            for piece in value.split(separator: ",") {
                guard let state = JobState(rawValue: String(piece).trimmingCharacters(in: .whitespaces)) else {
                    throw DashboardError(.badRequest, "unknown state '\(piece)'; expected one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                states.append(state)
            }
        }
        queue = form.value("queue")
        type = form.value("type")
        tenant = form.value("tenant")
        since = form.value("since")
        until = form.value("until")
        if let text = form.value("before") {
            guard let id = Int64(text), id > 0 else { throw DashboardError(.badRequest, "before must be a positive job id") }
            before = id
        }
        if let text = form.value("limit") {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw DashboardError(.badRequest, "limit must be between 1 and \(Self.maximumLimit)")
            }
            limit = value
        }
    }

    /// The store filter for `principal` (a tenant credential is always restricted to its tenant).
    func filter(for principal: Principal, now: Date) throws -> JobFilter {
        var tenants: [TenantID] = []
        if let tenant {
            let id: TenantID
            if tenant == TenantID.system.rawValue { id = .system } else {
                do { id = try TenantID(tenant) } catch { throw DashboardError(.badRequest, "tenant '\(tenant)' is not a valid tenant id") }
            }
            // A tenant credential asking for another tenant gets nothing (a tenant no job has).
            if let own = principal.tenant, own != id { tenants = [Self.noTenant] } else { tenants = [id] }
        } else if let own = principal.tenant {
            tenants = [own]
        }
        return JobFilter(
            states: states, queues: queue.map { [$0] } ?? [], types: type.map { [$0] } ?? [], tenants: tenants,
            enqueuedAfter: try since.map { try Self.time($0, now: now, name: "since") },
            enqueuedBefore: try until.map { try Self.time($0, now: now, name: "until") },
            beforeID: before.map { JobID($0) }, limit: limit
        )
    }

    /// The query string for these filters (without paging), for links.
    func queryString(before: Int64? = nil) -> String {
        var items: [URLQueryItem] = []
        if !states.isEmpty { items.append(URLQueryItem(name: "state", value: states.map(\.rawValue).joined(separator: ","))) }
        if let queue { items.append(URLQueryItem(name: "queue", value: queue)) }
        if let type { items.append(URLQueryItem(name: "type", value: type)) }
        if let tenant { items.append(URLQueryItem(name: "tenant", value: tenant)) }
        if let since { items.append(URLQueryItem(name: "since", value: since)) }
        if let until { items.append(URLQueryItem(name: "until", value: until)) }
        if limit != 50 { items.append(URLQueryItem(name: "limit", value: String(limit))) }
        if let before { items.append(URLQueryItem(name: "before", value: String(before))) }
        var components = URLComponents()
        components.queryItems = items
        return components.percentEncodedQuery ?? ""
    }

    /// Parses `15m`, `2h`, `7d`, `30s` (that long ago) or an ISO 8601 time.
    static func time(_ text: String, now: Date, name: String) throws -> Date {
        if let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 {
            let seconds: Double? = switch unit {
            case "s": amount
            case "m": amount * 60
            case "h": amount * 3600
            case "d": amount * 86400
            default: nil
            }
            if let seconds { return now.addingTimeInterval(-seconds) }
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw DashboardError(.badRequest, "\(name) must be an age such as 15m, 1h or 7d, or an ISO 8601 time")
    }
}
