import Foundation
import Surety
import Testing

/// Payloads, effect results and step results share one JSON coding (``JobCoding``). Effect and
/// step results used to be written with escaped slashes; what was stored then must still decode.
@Suite("One JSON coding of user values")
struct JobCodingTests {
    struct Receipt: Codable, Equatable, Sendable {
        var url: String
        var at: Date
        var amounts: [String: Int]
    }

    static let value = Receipt(url: "https://provider.example/r/1", at: Date(timeIntervalSince1970: 1_790_000_000), amounts: ["b": 2, "a": 1])

    /// The three encoders as they were configured before they became one.
    static let oldEncoders: [(name: String, encoder: JSONEncoder)] = {
        func make(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
            let encoder = JSONEncoder()
            encoder.outputFormatting = formatting
            encoder.dateEncodingStrategy = .iso8601
            return encoder
        }
        return [
            ("payloads (JobCoding)", make([.sortedKeys, .withoutEscapingSlashes])),
            ("effect results (EffectCoding)", make([.sortedKeys])),
            ("workflow step results", make([.sortedKeys])),
        ]
    }()

    @Test("a value stored by each of the three former configurations decodes with the one coding")
    func oldRowsDecode() throws {
        for (name, encoder) in Self.oldEncoders {
            let stored = String(decoding: try encoder.encode(Self.value), as: UTF8.self)
            #expect(try JobCoding.decodeValue(Receipt.self, from: stored) == Self.value, "\(name): \(stored)")
        }
        // Literal rows as the old effect and step coding wrote them (escaped slashes).
        let escaped = #"{"amounts":{"a":1,"b":2},"at":"2026-09-21T14:13:20Z","url":"https:\/\/provider.example\/r\/1"}"#
        #expect(try JobCoding.decodeValue(Receipt.self, from: escaped) == Self.value)
        #expect(try JobCoding.decodeValue(String.self, from: #""msg\/1""#) == "msg/1")
    }

    @Test("the one coding: sorted keys, slashes as they are, ISO 8601 dates; a payload encodes as before")
    func oneConfiguration() throws {
        let text = try JobCoding.encodeValue(Self.value)
        #expect(text == #"{"amounts":{"a":1,"b":2},"at":"2026-09-21T14:13:20Z","url":"https://provider.example/r/1"}"#)
        // Payloads keep the text they had: the one coding is the payloads' former configuration.
        let old = String(decoding: try Self.oldEncoders[0].encoder.encode(Self.value), as: UTF8.self)
        #expect(text == old)
        #expect(try JobCoding.decodeValue(Receipt.self, from: text) == Self.value)
    }
}
