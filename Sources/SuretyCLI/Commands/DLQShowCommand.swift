import ArgumentParser
import Foundation
import Surety
import SuretySQLite
import SuretyViews

/// `surety dlq show ID`: what the job was trying to do and why it failed, attempt by attempt.
struct DLQShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a dead job: what it was trying to do (type, tenant, queue, redacted payload, correlation) and why it failed (every attempt's error), then its audit and its effects.",
        discussion: "Secret payload fields are redacted; error messages are the recorded ones, already scrubbed of secret values; effect keys and audit reasons are scrubbed the same way. An effect still started in a job that is not running is in doubt: resolve it with dlq resolve-effect."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(name: .long, help: "Print the result as JSON (the shape of `jobs show --json` plus a `failure` summary).")
    var json = false

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let store = opened.store
        guard let job = try await store.job(JobID(id)) else {
            throw SuretyError(.notFound, "no job with id \(id)")
        }
        let attempts = try await store.attempts(of: job.id)
        let views = Views(registry: SuretyApplication.current.knownRegistry)
        let effectViews = EffectViews(views: views, job: job)
        // Audit reasons are scrubbed by the views (a resolve_effect row names the effect's key).
        let audit = try await store.audit(of: job.id)
        let effects = try await store.effects(of: job.id)
        let summary = FailureSummary(job: job, attempts: attempts)
        if json {
            guard case .object(var object) = views.jsonDetail(job, attempts: attempts, audit: audit) else { return }
            object["failure"] = summary.json
            object["effects"] = effectViews.json(effects)
            Console.line(JSONValue.object(object).rendered())
            return
        }
        if job.state != .dead {
            Console.error("note: job \(id) is not in the dead-letter inbox (state \(job.state.rawValue))")
        }
        Console.line(summary.text(views: views))
        Console.line("")
        Console.line(views.detailText(job, attempts: attempts, audit: audit))
        Console.line("")
        Console.line(effectViews.text(effects))
    }
}

/// The two questions an operator asks of a dead job, answered first.
struct FailureSummary {
    let job: JobRecord
    let attempts: [AttemptRecord]

    /// Failed attempts' errors grouped by type and class, most frequent first.
    var errorGroups: [(error: String, errorClass: String, count: Int, lastMessage: String)] {
        var groups: [String: (String, String, Int, String)] = [:]
        var order: [String] = []
        for attempt in attempts {
            guard let error = attempt.error else { continue }
            let key = "\(error.type)\u{0}\(error.errorClass.rawValue)"
            if groups[key] == nil { order.append(key) }
            let count = (groups[key]?.2 ?? 0) + 1
            groups[key] = (error.type, error.errorClass.rawValue, count, error.message)
        }
        return order.compactMap { groups[$0] }.map { (error: $0.0, errorClass: $0.1, count: $0.2, lastMessage: $0.3) }
            .sorted { $0.count > $1.count }
    }

    var firstFailureAt: Date? { attempts.first { $0.error != nil }?.endedAt }
    var lastFailureAt: Date? { attempts.last { $0.error != nil }?.endedAt }

    /// The summary as text; every stored value is one field (``TerminalText/field(_:)``).
    func text(views: Views) -> String {
        let f = TerminalText.field
        var lines = ["What it was trying to do:"]
        lines.append("  \(f(job.type)) for tenant \(f(job.tenant.rawValue)), queue \(f(job.queue)), enqueued \(Formatting.timestamp(job.enqueuedAt))")
        lines.append("  payload      \(f(views.redactedPayload(job)))")
        lines.append("  correlation  \(Formatting.pairs(job.correlation))")
        lines.append("Why it failed:")
        var verdict = "  \(job.state.rawValue)"
        if let reason = job.deadReason { verdict += " (\(reason.rawValue))" }
        verdict += " after \(job.attempt) of \(job.maxAttempts) attempts"
        if let first = firstFailureAt { verdict += "; failing since \(Formatting.timestamp(first))" }
        if let last = lastFailureAt { verdict += ", last failure \(Formatting.timestamp(last))" }
        lines.append(verdict)
        let groups = errorGroups
        if groups.isEmpty, let error = job.lastError {
            lines.append("  \(f(error.type)) (\(error.errorClass.rawValue)): \(f(error.message))")
        }
        for group in groups {
            lines.append("  \(group.count)× \(f(group.error)) (\(group.errorClass)): \(f(group.lastMessage))")
        }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        .object([
            "dead_reason": .string(job.deadReason?.rawValue),
            "attempts": .int(Int64(job.attempt)),
            "first_failure_at": .date(firstFailureAt),
            "last_failure_at": .date(lastFailureAt),
            "errors": .array(errorGroups.map { group in
                .object([
                    "type": .string(group.error), "class": .string(group.errorClass), "count": .int(Int64(group.count)),
                    "last_message": .string(group.lastMessage),
                ])
            }),
        ])
    }
}
