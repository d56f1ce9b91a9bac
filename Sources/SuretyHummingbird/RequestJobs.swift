import Hummingbird
import Surety

/// Enqueues jobs from a Hummingbird request handler, for the request's tenant: the tenant comes
/// from a resolver the application supplies (a header checked by your authentication, a
/// subdomain, the signed-in user), and an enqueue is refused when it finds none. The request's
/// trace context (`ServiceContext.current`, set by Hummingbird's `TracingMiddleware`) travels
/// with the job, so the job's attempts are linked to the request's trace.
///
/// ```swift
/// let jobs = RequestJobs<BasicRequestContext>(queue: queue) { request, _ in
///     request.headers[.init("X-Tenant")!].map { try TenantID($0) }
/// }
/// router.post("signup") { request, context in
///     try await jobs.enqueue(SendWelcomeEmail(to: "a@b.example"), for: request, context: context)
///     return Response(status: .accepted)
/// }
/// ```
public struct RequestJobs<Context: RequestContext>: Sendable {
    /// Finds the request's tenant; `nil` when the request has none.
    public typealias TenantResolver = @Sendable (Request, Context) throws -> TenantID?

    public let queue: JobQueue
    private let resolveTenant: TenantResolver

    /// - Parameters:
    ///   - queue: the application's job queue (its store and registry).
    ///   - tenant: finds the request's tenant.
    public init(queue: JobQueue, tenant: @escaping TenantResolver) {
        self.queue = queue
        self.resolveTenant = tenant
    }

    /// The request's tenant.
    /// - Throws: `SuretyError.Code.missingTenant` when the resolver finds none (the
    ///   response is a 400, not a job for nobody), or the resolver's own error.
    public func tenant(of request: Request, context: Context) throws -> TenantID {
        guard let tenant = try resolveTenant(request, context) else {
            throw HTTPError(.badRequest, message: "this request has no tenant; the job was not enqueued")
        }
        return tenant
    }

    /// Enqueues `job` for the request's tenant with the request's trace context.
    /// - Parameters:
    ///   - job: the job to enqueue.
    ///   - request: the request whose tenant the job runs for.
    ///   - context: the request's context.
    ///   - options: Default: the type's options.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, for request: Request, context: Context, options: EnqueueOptions = EnqueueOptions()) async throws -> EnqueuedJob {
        try await queue.enqueue(job, tenant: tenant(of: request, context: context), options: options)
    }

    /// The job for the request's tenant as a `NewJob`, to enqueue inside the
    /// application's own database transaction (`SQLiteStore.enqueue(_:in:)`,
    /// `PostgresStore.enqueue(_:on:)`): the job exists if and only if that transaction commits.
    /// - Parameters:
    ///   - job: the job to build.
    ///   - request: the request whose tenant the job runs for.
    ///   - context: the request's context.
    ///   - options: Default: the type's options.
    public func newJob<J: Job>(_ job: J, for request: Request, context: Context, options: EnqueueOptions = EnqueueOptions()) throws -> NewJob {
        try queue.newJob(job, tenant: tenant(of: request, context: context), options: options)
    }
}
