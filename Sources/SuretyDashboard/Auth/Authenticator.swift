import Foundation
import Hummingbird
import Surety

/// Resolves a request's ``Principal`` from `Authorization: Bearer`, `Authorization: Basic` or
/// the sign-in session cookie, and checks that state-changing requests are not cross-site.
struct Authenticator: Sendable {
    static let sessionCookie = "surety_session"
    static let csrfCookie = "surety_csrf"
    static let csrfField = "csrf"

    let configuration: DashboardConfiguration
    let sessions: SessionStore

    /// The index of the credential with this token (compared in constant time per credential).
    func credentialIndex(token: String) -> Int? {
        var found: Int?
        for (index, credential) in configuration.credentials.enumerated() where Self.constantTimeEqual(credential.token, token) {
            found = index
        }
        return found
    }

    /// The principal for a credential and the name its holder claims (the basic user name or the
    /// sign-in page's name field, if any). The claim is not verified, so the actor recorded in the
    /// audit trail always names the credential too (see ``auditActor(claimed:credential:)``).
    func principal(credentialIndex index: Int, claimed: String?, method: String) -> Principal {
        let credential = configuration.credentials[index]
        return Principal(actor: Self.auditActor(claimed: claimed, credential: credential.name), tenant: credential.tenant,
                         mayAct: !configuration.readOnly, method: method)
    }

    /// The actor recorded for an operator action: `NAME via token 'CREDENTIAL'` when a name was
    /// claimed, else `token 'CREDENTIAL'`. A claimed name loses its quotes (``cleanActor(_:)``), so
    /// the one quoted credential name is always the credential actually used.
    static func auditActor(claimed: String?, credential: String) -> String {
        let name = claimed.map(cleanActor) ?? ""
        return name.isEmpty ? "token '\(credential)'" : "\(name) via token '\(credential)'"
    }

    /// The principal, or `nil` when the request carries no valid credentials (and anonymous
    /// read-only access is off).
    func authenticate(_ request: Request, now: Date) -> Principal? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let scheme = parts[0].lowercased()
            let value = String(parts[1]).trimmingCharacters(in: .whitespaces)
            if scheme == "bearer" {
                return credentialIndex(token: value).map { principal(credentialIndex: $0, claimed: nil, method: "bearer") }
            }
            if scheme == "basic", let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
               let colon = text.firstIndex(of: ":") {
                let user = String(text[..<colon])
                let password = String(text[text.index(after: colon)...])
                return credentialIndex(token: password).map { principal(credentialIndex: $0, claimed: user, method: "basic") }
            }
            return nil
        }
        if let id = request.cookies[Self.sessionCookie]?.value, let session = sessions.session(id, now: now),
           session.credentialIndex < configuration.credentials.count {
            return principal(credentialIndex: session.credentialIndex, claimed: session.claimedName, method: "session")
        }
        if configuration.allowAnonymousReadOnly && configuration.readOnly {
            return Principal(actor: "anonymous", tenant: nil, mayAct: false, method: "anonymous")
        }
        return nil
    }

    /// Whether the request's `Origin` (or, without one, `Referer`) names this host. A request
    /// with neither passes (non-browser clients), since browsers send `Origin` on every
    /// cross-site POST.
    static func sameOrigin(_ request: Request) -> Bool {
        let host = request.head.authority
        let source = request.headers[.origin] ?? request.headers[.referer]
        guard let source else { return true }
        if source == "null" { return false }
        guard let url = URL(string: source), let sourceHost = url.host else { return false }
        let sourceAuthority = url.port.map { "\(sourceHost):\($0)" } ?? sourceHost
        guard let host else { return false }
        return sourceAuthority.lowercased() == host.lowercased()
    }

    /// Double-submit check for HTML forms: the form's `csrf` field equals the `surety_csrf`
    /// cookie, which only pages of this origin could have read into the form.
    static func csrfMatches(_ request: Request, form: FormData) -> Bool {
        guard let cookie = request.cookies[csrfCookie]?.value, cookie.count >= 16,
              let field = form.first(csrfField) else { return false }
        return constantTimeEqual(cookie, field)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    /// A claimed name as recorded: at most 100 characters, trimmed, without control characters
    /// and without `'` (which quotes the credential's name in ``auditActor(claimed:credential:)``).
    static func cleanActor(_ text: String) -> String {
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) && $0 != "'" })
        return String(String(kept).trimmingCharacters(in: .whitespacesAndNewlines).prefix(100))
    }
}
