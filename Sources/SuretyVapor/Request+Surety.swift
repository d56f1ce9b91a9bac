import Surety
import Tracing
import Vapor

extension Request {
    /// Enqueues jobs for this request's tenant (from the resolver given to
    /// `app.surety.use(store:registry:queue:tenant:)`) with this request's trace context.
    ///
    /// ```swift
    /// app.post("signup") { req async throws -> HTTPStatus in
    ///     try await req.surety.enqueue(SendWelcomeEmail(email: "ann@acme.example"))
    ///     return .accepted
    /// }
    /// ```
    public var surety: SuretyJobs { SuretyJobs(request: self) }

    /// What `req.surety` offers.
    public struct SuretyJobs: Sendable {
        /// The request whose tenant and trace the jobs carry.
        public let request: Request

        /// The request's tenant.
        /// - Throws: `Abort(.badRequest)` when the resolver finds none (a 400, not a job for
        ///   nobody), the resolver's own error, or `SuretyError.Code.invalidState` when
        ///   Surety is not configured.
        public func tenant() throws -> TenantID {
            guard let tenant = try request.application.surety.configuration().tenant(request) else {
                throw Abort(.badRequest, reason: "this request has no tenant; the job was not enqueued")
            }
            return tenant
        }

        /// Enqueues `job` for the request's tenant, with the request's trace context.
        /// - Parameters:
        ///   - job: the job to enqueue.
        ///   - options: Default: the type's options.
        /// - Throws: as ``tenant()``, then `JobQueue.enqueue`'s errors.
        @discardableResult
        public func enqueue<J: Job>(_ job: J, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
            let queue = try request.application.surety.queue()
            let tenant = try tenant()
            return try await ServiceContext.withValue(traceContext) {
                try await queue.enqueue(job, tenant: tenant, options: options)
            }
        }

        /// The job for the request's tenant as a `NewJob`, to enqueue inside the
        /// application's own transaction (`PostgresStore.enqueue(_:on:)`, or `req.surety.enqueue(_:in:)`
        /// from SuretyFluentPostgres): the job exists if and only if that transaction commits.
        /// - Parameters:
        ///   - job: the job to build.
        ///   - options: Default: the type's options.
        /// - Throws: as ``tenant()``, then `JobQueue.newJob`'s errors.
        public func newJob<J: Job>(_ job: J, options: EnqueueOptions = EnqueueOptions()) throws -> NewJob {
            let queue = try request.application.surety.queue()
            let tenant = try tenant()
            return try ServiceContext.withValue(traceContext) {
                try queue.newJob(job, tenant: tenant, options: options)
            }
        }

        /// The trace the job joins: the task's current context when it has a trace (a tracing
        /// middleware that sets it), else the request's (`request.serviceContext`, which Vapor's
        /// `TracingMiddleware` sets).
        var traceContext: ServiceContext {
            if let current = ServiceContext.current, current.count > 0 { return current }
            return request.serviceContext
        }
    }
}
