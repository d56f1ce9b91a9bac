import Foundation

/// Removes secrets from payloads and messages before anything is shown or logged.
///
/// A job type declares its secret fields (``Job/secretFields``); the redactor replaces those
/// fields' values, at any depth of the JSON payload, with `"[REDACTED]"`, and scrubs the same
/// values from free text such as error messages.
public struct Redactor: Sendable, Hashable {
    /// The fields whose values are secret.
    public var secretFields: Set<String>

    /// What replaces a secret.
    public static let mask = "[REDACTED]"

    public init(secretFields: Set<String>) { self.secretFields = secretFields }

    /// The payload with secret fields masked. A payload that is not valid JSON is replaced by a
    /// note saying so, since its secrets cannot be located.
    public func redact(payload: String) -> String {
        guard !secretFields.isEmpty else { return payload }
        guard let data = payload.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return "\"[REDACTED: payload is not valid JSON]\""
        }
        let masked = mask(object)
        guard let out = try? JSONSerialization.data(withJSONObject: masked, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) else {
            return "\"[REDACTED]\""
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` with every secret value found in `payload` replaced by the mask.
    public func scrub(_ text: String, payload: String) -> String {
        let values = secretValues(in: payload)
        guard !values.isEmpty else { return text }
        var result = text
        for value in values.sorted(by: { $0.count > $1.count }) where !value.isEmpty {
            result = result.replacingOccurrences(of: value, with: Redactor.mask)
        }
        return result
    }

    /// The string forms of the secret fields' values in `payload`.
    public func secretValues(in payload: String) -> [String] {
        guard !secretFields.isEmpty, let data = payload.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return [] }
        var values: [String] = []
        collect(object, into: &values)
        return values
    }

    private func mask(_ value: Any) -> Any {
        if let dictionary = value as? [String: Any] {
            var out: [String: Any] = [:]
            for (key, child) in dictionary {
                out[key] = secretFields.contains(key) ? Redactor.mask : mask(child)
            }
            return out
        }
        if let array = value as? [Any] { return array.map(mask) }
        return value
    }

    private func collect(_ value: Any, into values: inout [String]) {
        if let dictionary = value as? [String: Any] {
            for (key, child) in dictionary {
                if secretFields.contains(key) { flatten(child, into: &values) } else { collect(child, into: &values) }
            }
        } else if let array = value as? [Any] {
            for child in array { collect(child, into: &values) }
        }
    }

    private func flatten(_ value: Any, into values: inout [String]) {
        switch value {
        case let string as String: values.append(string)
        case let number as NSNumber: values.append(number.stringValue)
        case let dictionary as [String: Any]: for child in dictionary.values { flatten(child, into: &values) }
        case let array as [Any]: for child in array { flatten(child, into: &values) }
        default: break
        }
    }
}
