import Surety

/// Who is making a request, once authenticated.
public struct Principal: Sendable, Hashable {
    /// The actor recorded for operator actions: `NAME via token 'CREDENTIAL'` when a user name was
    /// claimed, `token 'CREDENTIAL'` when not, `anonymous` for anonymous read-only access.
    public var actor: String
    /// When set, the principal sees and acts on this tenant's jobs only.
    public var tenant: TenantID?
    /// Whether the principal may act (requeue, discard). `false` for anonymous read-only access
    /// and for every principal of a read-only dashboard.
    public var mayAct: Bool
    /// How the principal authenticated: `bearer`, `basic`, `session` or `anonymous`.
    public var method: String

    /// Whether this principal may see a job of `tenant`.
    public func maySee(_ jobTenant: TenantID) -> Bool { tenant == nil || tenant == jobTenant }
}
