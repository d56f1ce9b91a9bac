import Foundation

/// What one crash point showed on one store: the counts docs/guarantees.md publishes. Every
/// count but ``kills``, ``inDoubtStopped`` and ``inDoubtReconciled`` must be zero.
struct ProveRow: Sendable, Codable {
    var store: String
    var point: String
    var attack: String
    var jobs = 0
    /// SIGKILLs that hit the point (the process said it reached it, and died of SIGKILL).
    var kills = 0
    /// Jobs (or acknowledged enqueues) missing, or not finished after the drain.
    var lost = 0
    /// Performances beyond the first of one job's effect, by the provider's records.
    var duplicateEffects = 0
    /// Jobs the provider saw two requests of at once.
    var concurrentRuns = 0
    /// Provider requests whose tenant differs from the job's.
    var tenantMismatches = 0
    /// In-doubt effects stopped for a human (the job dead `in_doubt`).
    var inDoubtStopped = 0
    /// In-doubt effects reconciled with the provider (found by idempotency key).
    var inDoubtReconciled = 0
    /// Effects left started and unconfirmed on a job that is not stopped in doubt.
    var unresolvedInDoubt = 0
    /// Jobs completed whose effect the provider never performed ("done" was a lie).
    var doneWithoutEffect = 0
    /// Jobs whose history does not hold every attempt, each with an outcome.
    var unaccountedAttempts = 0
    /// Operator actions half applied, or applied without their audit row.
    var unauditedChanges = 0
    var seconds = 0.0
    /// What went wrong, in sentences (empty when the row holds).
    var problems: [String] = []

    var violations: Int {
        lost + duplicateEffects + concurrentRuns + tenantMismatches + unresolvedInDoubt + doneWithoutEffect
            + unaccountedAttempts + unauditedChanges
    }

    /// The point was reached at least once and nothing was lost, duplicated or mixed.
    var holds: Bool { kills > 0 && violations == 0 && problems.isEmpty }
}
