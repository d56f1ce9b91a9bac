import Foundation
import Surety

extension StoreConformance {
    /// The values the conformance groups build, public so a store's own tests build the same:
    /// a fixed time, two tenants, a job, a claim, a finish, an error and an operator action.
    public enum Fixtures {
        /// The time every group starts at: 2027-01-15 08:00:00 UTC.
        public static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        /// The tenant jobs belong to by default.
        public static let acme = try! TenantID("acme")
        /// A second tenant.
        public static let globex = try! TenantID("globex")
        /// A transient error, as a failed attempt records it.
        public static let boom = AttemptError(type: "Boom", message: "provider said 502", errorClass: .transient)

        /// A job to enqueue. Defaults: type `test.job`, queue `default`, priority 0, tenant
        /// ``acme``, payload `{}`, due and enqueued at ``t0``, 3 attempts, no unique key
        /// (`whileActive` when one is given), no tags, correlation or partition key.
        public static func job(
            _ type: String = "test.job", queue: String = "default", priority: Int = 0, tenant: TenantID = acme,
            payload: String = "{}", runAt: Date = t0, maxAttempts: Int = 3, key: String? = nil,
            scope: UniqueScope = .whileActive, tags: [String] = [], correlation: [String: String] = [:], partition: String? = nil
        ) -> NewJob {
            NewJob(
                type: type, queue: queue, priority: priority, tenant: tenant, payload: payload, runAt: runAt,
                enqueuedAt: t0, maxAttempts: maxAttempts, uniqueKey: key, uniqueScope: scope, tags: tags, correlation: correlation,
                partitionKey: partition
            )
        }

        /// Claims up to `limit` jobs. Defaults: at ``t0``, 10 jobs, queue `default`, worker `w1`,
        /// a lease of 30 s.
        public static func claim(
            _ store: any JobStore, at now: Date = t0, limit: Int = 10, queues: [String] = ["default"], worker: String = "w1",
            lease: TimeInterval = 30
        ) async throws -> [ClaimedJob] {
            try await store.claim(ClaimRequest(queues: queues, limit: limit, worker: worker, now: now, leaseUntil: now.addingTimeInterval(lease)))
        }

        /// The end of `job`'s attempt at `at`. Defaults: a success that completes the job, no
        /// error, worker `w1`, started at ``t0``, not a rescue (`onlyIfExpiredBy` nil).
        public static func finish(
            _ job: ClaimedJob, at: Date, outcome: AttemptOutcome = .succeeded, next: NextState = .completed,
            error: AttemptError? = nil, worker: String = "w1", onlyIfExpiredBy: Date? = nil
        ) -> AttemptFinish {
            AttemptFinish(
                lease: job.lease, attempt: job.attempt, worker: worker, startedAt: t0, endedAt: at, outcome: outcome,
                error: error, next: next, onlyIfLeaseExpiredBy: onlyIfExpiredBy
            )
        }

        /// An operator's action. Defaults: by `ops@example.com`, at ``t0`` + 100 s.
        public static func operatorAction(_ reason: String = "fixed the provider key", at: Date = t0.addingTimeInterval(100)) -> OperatorAction {
            try! OperatorAction(actor: "ops@example.com", reason: reason, at: at)
        }
    }
}
