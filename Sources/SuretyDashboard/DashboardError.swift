import Foundation

/// An error from the dashboard, with a stable code and a message safe to show and log (it never
/// contains a token or a payload).
public struct DashboardError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The configuration cannot work (no credentials where they are required, a short token).
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The request carries no valid credentials.
        public static let unauthorized = Code("unauthorized")
        /// The credentials are valid but may not do this (read-only, another tenant's job,
        /// a failed CSRF or origin check).
        public static let forbidden = Code("forbidden")
        /// The request is malformed (a bad filter, a missing reason).
        public static let badRequest = Code("bad_request")
        /// No such job (or not one this credential may see).
        public static let notFound = Code("not_found")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
