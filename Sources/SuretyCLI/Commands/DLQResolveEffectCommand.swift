import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety dlq resolve-effect ID --effect NAME (--happened [--result JSON] | --did-not-happen)
/// --by WHO --reason TEXT`: records what the operator found at the provider about an in-doubt
/// effect, audited, so a requeue of the same job continues from it.
struct DLQResolveEffectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve-effect",
        abstract: "Record what you found at the provider about an in-doubt effect (happened, or did not happen); audited.",
        discussion: """
            For a job in the inbox with reason in_doubt: an effect was started and never \
            confirmed. Look its idempotency key up at the provider (the inbox's error names it), \
            then record the finding here. --happened confirms the effect with --result, the JSON \
            the job's code decodes as the effect's result (default: null); the requeued job \
            returns it without performing the effect. --did-not-happen removes the started \
            record; the requeued job performs the effect, with the same idempotency key. Then \
            requeue the job (surety dlq requeue ID). Only an effect still in state started can be \
            resolved, and not while its job is running. --key is needed only when the job has \
            several unresolved effects of that name (dlq show lists them). Writes an audit row \
            resolve_effect with who, why and the finding.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Option(name: .long, help: ArgumentHelp("The effect's name (as in context.effect(NAME, …); dlq show lists the job's effects).", valueName: "name"))
    var effect: String

    @Option(name: .long, help: ArgumentHelp("The effect's caller key. Default: the job's only unresolved effect of that name.", valueName: "key"))
    var key: String?

    @Flag(name: .long, help: "The effect happened at the provider.")
    var happened = false

    @Option(name: .long, help: ArgumentHelp("With --happened: the effect's result as JSON, as the job's code decodes it. Default: null.", valueName: "json"))
    var result: String?

    @Flag(name: .customLong("did-not-happen"), help: "The effect did not happen at the provider.")
    var didNotHappen = false

    @Option(name: .long, help: ArgumentHelp("Who is acting (recorded in the audit table).", valueName: "who"))
    var by: String

    @Option(name: .long, help: ArgumentHelp("Why: what you found at the provider (recorded in the audit table).", valueName: "text"))
    var reason: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if id < 1 { throw ValidationError("job ids are positive integers") }
        if happened == didNotHappen { throw ValidationError("pass exactly one of --happened and --did-not-happen") }
        if result != nil && !happened { throw ValidationError("--result goes with --happened") }
        if effect.isEmpty { throw ValidationError("--effect must name the effect") }
        if by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--by must name who is acting") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must say why") }
    }

    var finding: EffectFinding { happened ? .happened(result: result ?? "null") : .didNotHappen }

    func run() async throws {
        try await storeOptions.withStore(create: false) { try await run(opened: $0) }
    }

    func run(opened: OpenStore) async throws {
        let store = opened.store
        let action = try OperatorAction(actor: by, reason: reason, at: Date())
        guard let job = try await store.job(JobID(id)) else {
            throw SuretyError(.notFound, "no job with id \(id)")
        }
        let effectKey = try await resolveKey(job, store)
        try finding.validate(for: effectKey)
        let record = try await store.resolveEffect(effectKey, finding: finding, action: action)

        let views = Views(registry: SuretyApplication.current.knownRegistry)
        let shownKey = EffectViews(views: views, job: job).key(effectKey.key)
        let findingName = happened ? "happened" : "did_not_happen"
        if json {
            Console.line(JSONValue.object([
                "job": .int(job.id.rawValue),
                "effect": .string(effectKey.name),
                "key": .string(shownKey),
                "finding": .string(findingName),
                "state": .string(record?.state.rawValue),
                "by": .string(action.actor),
                "reason": .string(action.reason),
                "job_state": .string(job.state.rawValue),
            ]).rendered())
            return
        }
        let f = TerminalText.field
        let what = effectKey.key.isEmpty ? "effect \(f(effectKey.name))" : "effect \(f(effectKey.name)) (key \(f(shownKey)))"
        if record != nil {
            Console.line("\(what) of job \(id) resolved as happened by \(f(action.actor)): confirmed with the given result")
        } else {
            Console.line("\(what) of job \(id) resolved as did not happen by \(f(action.actor)): the started record is removed")
        }
        if job.state == .dead || job.state == .cancelled {
            Console.line("next: surety dlq requeue \(id) --by \(f(action.actor)) --reason \"...\" (the job then \(record != nil ? "returns the recorded result" : "performs the effect") instead of stopping in doubt)")
        }
    }

    /// The effect's full key: `--key` when given, else the job's only effect of that name (or
    /// its only unresolved one), so an operator need not retype a key `dlq show` scrubbed.
    func resolveKey(_ job: JobRecord, _ store: any CommandStore) async throws -> EffectKey {
        if let key { return EffectKey(tenant: job.tenant, jobID: job.id, name: effect, key: key) }
        let named = try await store.effects(of: job.id).filter { $0.key.name == effect && $0.key.tenant == job.tenant }
        if named.count == 1 { return named[0].key }
        let started = named.filter { $0.state == .started }
        if started.count == 1 { return started[0].key }
        if named.isEmpty { return EffectKey(tenant: job.tenant, jobID: job.id, name: effect) }
        throw CLIError("job \(id) has \(named.count) effects named '\(effect)' (\(started.count) unresolved); name one with --key (dlq show \(id) lists them)", exitCode: ExitCodes.usage)
    }
}

/// How a job's effects look in `dlq show` and `dlq resolve-effect`: the caller key scrubbed of
/// the payload's secret values like the unique key (keys are often built from the job's fields),
/// wholly masked for a type this build does not know. The result is not shown: it can hold
/// what the provider returned, secrets included.
struct EffectViews {
    let views: Views
    let job: JobRecord

    func key(_ key: String) -> String { views.redaction.key(key, of: job) }

    /// `[EFFECT, …]` (``EffectView``).
    func json(_ effects: [EffectRecord]) -> JSONValue {
        .array(effects.map { JSONValue(encoding: EffectView($0, of: job, redaction: views.redaction)) })
    }

    func text(_ effects: [EffectRecord]) -> String {
        var lines = ["Effects:"]
        if effects.isEmpty {
            lines.append("  (none recorded)")
            return lines.joined(separator: "\n")
        }
        let f = TerminalText.field
        let rows = effects.map { effect -> [String] in
            [f(effect.key.name), effect.key.key.isEmpty ? "-" : f(key(effect.key.key)), effect.state.rawValue, "\(effect.attempt)", Formatting.timestamp(effect.startedAt)]
        }
        lines.append(Formatting.table(["NAME", "KEY", "STATE", "ATTEMPT", "STARTED"], rows, indent: "  "))
        if job.state != .running, effects.contains(where: { $0.state == .started }) {
            lines.append("  A started effect was never confirmed: check the provider, then")
            lines.append("  surety dlq resolve-effect \(job.id) --effect NAME (--happened [--result JSON] | --did-not-happen) --by WHO --reason TEXT")
        }
        return lines.joined(separator: "\n")
    }
}
