import Foundation

/// An `application/x-www-form-urlencoded` body or query string, with repeated keys kept.
struct FormData: Sendable {
    private(set) var pairs: [(String, String)] = []

    init(pairs: [(String, String)]) { self.pairs = pairs }

    init(encoded text: String) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            pairs.append((key, value))
        }
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    func first(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    /// The first non-blank value, trimmed.
    func value(_ key: String) -> String? {
        guard let value = first(key)?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }
}
