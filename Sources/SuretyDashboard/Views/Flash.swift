import Foundation
import Surety

/// The banner shown after a form action. The redirect carries only a code and counts
/// (`?done=requeued&changed=3&skipped=1&force=1`, `?failed=reason`), never text, and every word of
/// the banner comes from this fixed set: a link cannot put words of its own in the dashboard's
/// banner.
enum Flash {
    /// What an action did.
    enum Done: String {
        case requeued, discarded, paused, resumed
    }

    /// Why an action changed nothing.
    enum Failure: String {
        case reason
        case selection
        case tooMany = "too-many"
        case readOnly = "read-only"
        case notFound = "not-found"
        case unavailable
        case failed

        var message: String {
            switch self {
            case .reason: "A reason is required; nothing was changed."
            case .selection: "No jobs were selected; nothing was changed."
            case .tooMany: "At most 10,000 jobs per action; nothing was changed."
            case .readOnly: "This dashboard is read-only; nothing was changed."
            case .notFound: "No such schedule (or not one this credential may see); nothing was changed."
            case .unavailable: "The store is unavailable; nothing was changed. Try again; the server log has the detail."
            case .failed: "The action failed; the server log has the detail."
            }
        }

        /// The failure for an error thrown by ``DashboardData/perform(_:ids:reason:principal:now:dryRun:force:)``
        /// or ``DashboardData/setSchedulePaused(_:paused:reason:principal:now:)``.
        init(_ error: any Error) {
            if let error = error as? DashboardError {
                switch error.code {
                case .forbidden: self = .readOnly
                case .notFound: self = .notFound
                case .badRequest where error.message.hasPrefix("a reason is required"): self = .reason
                case .badRequest where error.message == "no jobs selected": self = .selection
                case .badRequest where error.message.hasPrefix("at most"): self = .tooMany
                default: self = .failed
                }
            } else if let error = error as? SuretyError, error.code == .storeUnavailable {
                self = .unavailable
            } else {
                self = .failed
            }
        }
    }

    /// The query string after a successful action. `needForce` counts the skipped jobs that a
    /// requeue with force would have taken (dead reason `undecodable_payload`).
    static func query(_ done: Done, changed: Int = 0, skipped: Int = 0, needForce: Int = 0) -> String {
        var query = "done=\(done.rawValue)"
        if done == .requeued || done == .discarded { query += "&changed=\(changed)&skipped=\(skipped)" }
        if needForce > 0 { query += "&force=\(needForce)" }
        return query
    }

    /// The query string after a failed action.
    static func query(_ failure: Failure) -> String { "failed=\(failure.rawValue)" }

    /// The banner texts for a page's query string: a success and an error message, each `nil`
    /// unless the query names one of the known codes.
    static func messages(_ query: FormData) -> (done: String?, failed: String?) {
        func count(_ key: String) -> Int { min(max(Int(query.first(key) ?? "") ?? 0, 0), 1_000_000) }
        var done: String?
        switch query.first("done").flatMap(Done.init(rawValue:)) {
        case .requeued?, .discarded?:
            let verb = query.first("done") == Done.requeued.rawValue ? "Requeued" : "Discarded"
            let changed = count("changed"), skipped = count("skipped"), needForce = count("force")
            var text = "\(verb) \(changed) job\(changed == 1 ? "" : "s")"
            if skipped > 0 { text += "; skipped \(skipped)" }
            if needForce > 0 {
                text += " (\(needForce) with dead reason undecodable_payload: its payload will not decode next time either; fix the job type, or requeue with “force”)"
            } else if skipped > 0 {
                text += " (not found, or in a state that does not allow it)"
            }
            done = text
        case .paused?: done = "Paused the schedule."
        case .resumed?: done = "Resumed the schedule."
        case nil: done = nil
        }
        let failed = query.first("failed").flatMap(Failure.init(rawValue:))?.message
        return (done, failed)
    }
}
