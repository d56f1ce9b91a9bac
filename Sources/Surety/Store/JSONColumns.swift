import Foundation

/// The `tags` (JSON array of strings) and `correlation` (JSON object of strings) columns, as every
/// SQL store writes and reads them (shared so SQLite and PostgreSQL agree to the byte).
///
/// Writing uses a small hand-written encoder: it is on the enqueue hot path, its output is
/// deterministic (object keys sorted) and plain JSON any tool reads. Reading is tolerant: a value
/// an operator or another program damaged never fails a read; what cannot be understood is
/// dropped (see docs/schema.md).
package enum JSONColumns {
    package static let emptyArray = "[]"
    package static let emptyObject = "{}"

    package static func encode(tags: [String]) -> String {
        if tags.isEmpty { return emptyArray }
        var out = "["
        for (index, tag) in tags.enumerated() {
            if index > 0 { out += "," }
            appendQuoted(tag, to: &out)
        }
        out += "]"
        return out
    }

    package static func encode(correlation: [String: String]) -> String {
        if correlation.isEmpty { return emptyObject }
        var out = "{"
        for (index, key) in correlation.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendQuoted(key, to: &out)
            out += ":"
            appendQuoted(correlation[key] ?? "", to: &out)
        }
        out += "}"
        return out
    }

    /// Tags from the column; a malformed value yields the string elements that can be read, or
    /// none.
    package static func decodeTags(_ text: String?) -> [String] {
        guard let text, text != emptyArray, !text.isEmpty else { return [] }
        guard let array = parse(text) as? [Any] else { return [] }
        return array.compactMap(scalarString)
    }

    /// Correlation IDs from the column; a malformed value yields none, non-string scalar values
    /// are read as text.
    package static func decodeCorrelation(_ text: String?) -> [String: String] {
        guard let text, text != emptyObject, !text.isEmpty else { return [:] }
        guard let object = parse(text) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object {
            if let string = scalarString(value) { result[key] = string }
        }
        return result
    }

    /// Decodes each distinct column value once: the rows of one claim usually share their tags
    /// and correlation IDs (they were enqueued together).
    package struct DecodingCache {
        package init() {}
        private var lastTags: (String, [String])?
        private var lastCorrelation: (String, [String: String])?

        package mutating func tags(_ text: String?) -> [String] {
            guard let text, text != emptyArray else { return [] }
            if let lastTags, lastTags.0 == text { return lastTags.1 }
            let tags = decodeTags(text)
            lastTags = (text, tags)
            return tags
        }

        package mutating func correlation(_ text: String?) -> [String: String] {
            guard let text, text != emptyObject else { return [:] }
            if let lastCorrelation, lastCorrelation.0 == text { return lastCorrelation.1 }
            let correlation = decodeCorrelation(text)
            lastCorrelation = (text, correlation)
            return correlation
        }
    }

    private static func parse(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    private static func scalarString(_ value: Any) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    private static func appendQuoted(_ string: String, to out: inout String) {
        JSONStringLiteral.append(string, to: &out)
    }
}
