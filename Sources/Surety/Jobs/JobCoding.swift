import Foundation

/// The one JSON coding of user values: job payloads, effect results (``JobContext/effect(_:key:policy:reconcile:perform:)``)
/// and workflow step results (``JobContext/setStepResult(_:)``). Sorted keys, slashes not escaped,
/// ISO 8601 dates in whole seconds, so equal values encode to equal text and stored text reads
/// the way the operator sees it (`"https://..."`).
///
/// Until 0.x effect and step results were written with escaped slashes (`"a\/b"`); JSON
/// decoders read both forms, so rows stored then decode unchanged (JobCodingTests).
public enum JobCoding {
    /// One encoder and one decoder for every value: both are safe to share across tasks once
    /// configured, and making one per job cost measurable time on the worker's hot path.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// A job's payload as JSON text.
    /// - Throws: ``SuretyError/Code/invalidPayload`` naming where it failed, never the value.
    public static func encode<J: Job>(_ job: J) throws -> String {
        do {
            return try encodeValue(job)
        } catch let error as EncodingError {
            // Never echo the value: it may be a secret. The coding path says where it failed.
            guard case .invalidValue(_, let context) = error else {
                throw SuretyError(.invalidPayload, "payload of \(J.name) does not encode")
            }
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SuretyError(.invalidPayload, "payload of \(J.name) does not encode at '\(path)': \(context.debugDescription)")
        } catch {
            throw SuretyError(.invalidPayload, "payload of \(J.name) does not encode: \(type(of: error))")
        }
    }

    /// A job decoded from its stored payload; throws the decoder's error.
    public static func decode<J: Job>(_ type: J.Type, from payload: String) throws -> J {
        try decodeValue(J.self, from: payload)
    }

    /// Any user value (an effect's or a step's result) as JSON text; throws the encoder's error.
    public static func encodeValue<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A user value decoded from stored JSON text; throws the decoder's error.
    public static func decodeValue<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(T.self, from: Data(text.utf8))
    }
}
