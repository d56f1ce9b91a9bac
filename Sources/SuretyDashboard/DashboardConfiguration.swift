import Foundation
import Surety

/// How a ``Dashboard`` authenticates, what it may do, and where it is mounted.
public struct DashboardConfiguration: Sendable {
    /// Who may sign in. Each credential is a secret token, optionally restricted to one tenant.
    /// Default: none (then only ``allowAnonymousReadOnly`` lets anyone in).
    public var credentials: [DashboardCredential]
    /// When `true`, every action (requeue, discard) is refused, whoever asks. Default: `false`.
    public var readOnly: Bool
    /// When `true` and ``readOnly`` is `true`, pages and the read-only API are served without
    /// credentials. `surety serve` sets it only for `--read-only` on a loopback address.
    /// Default: `false`.
    public var allowAnonymousReadOnly: Bool
    /// The path the dashboard's routes are mounted at, without a trailing slash, used to build
    /// links and cookie paths (for example `"/surety"`). Default: `""` (the root).
    public var basePath: String
    /// The most jobs read for the overview's rates, percentiles and charts (the most recent jobs
    /// enqueued in the last 24 hours). Default: 20,000.
    public var sampleLimit: Int
    /// Dead jobs read for the dead-letter inbox's groups. Default: 5,000.
    public var deadLetterLimit: Int
    /// Sign-in sessions expire after this long. Default: 12 hours.
    public var sessionLifetime: TimeInterval
    /// Mark cookies `Secure` (set it when the dashboard is served over HTTPS). Default: `false`.
    public var secureCookies: Bool
    /// A label shown in the page header (for example the environment). Default: `"surety"`.
    public var title: String

    /// - Parameters: see the properties for each default.
    public init(
        credentials: [DashboardCredential] = [], readOnly: Bool = false, allowAnonymousReadOnly: Bool = false,
        basePath: String = "", sampleLimit: Int = 20_000, deadLetterLimit: Int = 5_000,
        sessionLifetime: TimeInterval = 12 * 3600, secureCookies: Bool = false, title: String = "surety"
    ) {
        self.credentials = credentials
        self.readOnly = readOnly
        self.allowAnonymousReadOnly = allowAnonymousReadOnly
        var base = basePath
        while base.hasSuffix("/") { base.removeLast() }
        if !base.isEmpty, !base.hasPrefix("/") { base = "/" + base }
        self.basePath = base
        self.sampleLimit = sampleLimit
        self.deadLetterLimit = deadLetterLimit
        self.sessionLifetime = sessionLifetime
        self.secureCookies = secureCookies
        self.title = title
    }
}

/// A secret that opens the dashboard: sent as `Authorization: Bearer TOKEN`, as the password of
/// basic credentials (`Authorization: Basic` with any user name, which is recorded as the actor
/// next to the credential's ``name``), or typed into the sign-in page.
public struct DashboardCredential: Sendable, Hashable {
    /// The secret. At least 8 characters.
    public var token: String
    /// When set, this credential sees and acts on this tenant's jobs only. Default: `nil` (all).
    public var tenant: TenantID?
    /// The credential's name, recorded in the audit trail with every action taken with it:
    /// `token 'NAME'`, or `USER via token 'NAME'` when a user name was given (a basic user name or
    /// the sign-in page's name, which are not verified). Default: `"dashboard"`, or
    /// `"tenant:NAME"` for a tenant credential.
    public var name: String

    /// - Throws: ``DashboardError`` with code `invalid_configuration` for a token shorter than 8
    ///   characters.
    public init(token: String, tenant: TenantID? = nil, name: String? = nil) throws {
        guard token.count >= 8 else {
            throw DashboardError(.invalidConfiguration, "a dashboard token must have at least 8 characters")
        }
        self.token = token
        self.tenant = tenant
        self.name = name ?? tenant.map { "tenant:\($0.rawValue)" } ?? "dashboard"
    }

    /// Parses `TENANT=TOKEN` (the form of `surety serve --tenant-token`).
    public static func parseTenantToken(_ text: String) throws -> DashboardCredential {
        guard let equals = text.firstIndex(of: "=") else {
            throw DashboardError(.invalidConfiguration, "a tenant token is written TENANT=TOKEN")
        }
        let tenant: TenantID
        do { tenant = try TenantID(String(text[..<equals])) } catch {
            throw DashboardError(.invalidConfiguration, "the tenant in a tenant token is not valid: \(error)")
        }
        return try DashboardCredential(token: String(text[text.index(after: equals)...]), tenant: tenant)
    }
}
