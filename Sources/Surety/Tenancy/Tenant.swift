import ServiceContextModule

/// The tenant the current task works for, restored by the worker from the job's stored row before
/// every attempt (never from worker state), and the guard that fails closed.
///
/// ```swift
/// let invoice = try await invoices.find(id)
/// try Tenant.require(invoice.tenant)   // throws if this job runs for another tenant
/// ```
public enum Tenant {
    @TaskLocal public static var current: TenantID?

    /// Throws unless the current task runs for `owner`.
    /// - Throws: ``SuretyError/Code/missingTenant`` outside any tenant context,
    ///   ``SuretyError/Code/tenantMismatch`` when the resource belongs to another tenant.
    public static func require(_ owner: TenantID) throws {
        guard let current else {
            throw SuretyError(.missingTenant, "no tenant context: this code must run inside a job or Tenant.$current.withValue")
        }
        guard current == owner else {
            throw SuretyError(.tenantMismatch, "resource belongs to tenant '\(owner)', but the job runs for tenant '\(current)'")
        }
    }

    /// The current tenant, or an error when there is none.
    public static func requireCurrent() throws -> TenantID {
        guard let current else {
            throw SuretyError(.missingTenant, "no tenant context: this code must run inside a job or Tenant.$current.withValue")
        }
        return current
    }
}

/// The key under which the job's tenant is placed in the `ServiceContext`, so spans and
/// context-aware libraries see it.
public enum TenantContextKey: ServiceContextKey {
    public typealias Value = TenantID
    public static var nameOverride: String? { "surety.tenant" }
}

extension ServiceContext {
    /// The tenant of the job this context belongs to, if any.
    public var suretyTenant: TenantID? {
        get { self[TenantContextKey.self] }
        set { self[TenantContextKey.self] = newValue }
    }
}
