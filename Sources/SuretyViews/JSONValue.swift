import Foundation
import Surety

/// A JSON value, for output whose shape is written out explicitly (`surety … --json`, docs/cli.md,
/// and the dashboard's /api, docs/dashboard.md): every documented key is always present, with
/// `null` when it has no value. ``rendered(pretty:)`` writes the one text both print.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON text; text that is not JSON becomes a string saying so (never the text).
    public static func parse(_ text: String) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string("[REDACTED: payload is not valid JSON]")
    }

    /// The value as JSON text with sorted keys: pretty-printed with two-space indentation, or
    /// compact on one line. Written here rather than by `JSONEncoder`, so the text is the same on
    /// every platform and Foundation version (the `--json` output is a documented interface).
    /// Strings escape `"`, `\\`, and every character ``ControlCharacters`` names (`\\u001b`), so
    /// the text stays valid and exact and shows nothing invisible. Default: pretty.
    public func rendered(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: pretty ? "" : nil)
        return out
    }

    private func write(into out: inout String, indent: String?) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): JSONValue.writeString(value, into: &out)
        case .array(let values):
            guard !values.isEmpty else { out += "[]"; return }
            let inner = indent.map { $0 + "  " }
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                if let inner { out += "\n" + inner }
                value.write(into: &out, indent: inner)
            }
            if let indent { out += "\n" + indent }
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            let inner = indent.map { $0 + "  " }
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                if let inner { out += "\n" + inner }
                JSONValue.writeString(key, into: &out)
                out += inner == nil ? ":" : ": "
                members[key]!.write(into: &out, indent: inner)
            }
            if let indent { out += "\n" + indent }
            out += "}"
        }
    }

    private static func writeString(_ value: String, into out: inout String) {
        JSONStringLiteral.append(value, to: &out, alsoEscaping: ControlCharacters.contains)
    }

    /// The string, or `null`.
    public static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    public static func int(_ value: Int) -> JSONValue { .int(Int64(value)) }
    /// The number, or `null`.
    public static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
    /// ``ViewTime/string(_:)`` of the time, or `null`.
    public static func date(_ value: Date?) -> JSONValue { value.map { .string(ViewTime.string($0)) } ?? .null }
    /// ``ViewTime/seconds(_:)`` of the duration, or `null`.
    public static func seconds(_ value: TimeInterval?) -> JSONValue { ViewTime.seconds(value).map(JSONValue.double) ?? .null }

    /// An `Encodable` value (a view such as ``JobView``) as a JSON value, to add keys to or render.
    /// The views in this module always encode; a value that throws becomes `null`.
    public init(encoding value: some Encodable) {
        guard let data = try? JSONEncoder().encode(value), let decoded = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            self = .null
            return
        }
        self = decoded
    }

    /// The members of an object; `[:]` for any other value.
    public var members: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
