import Foundation

/// How SQL stores keep a workflow's columns as text: one definition for the SQLite and PostgreSQL
/// stores (and a user's own SQL store), so both read and write the same form.
package enum WorkflowRowCoding {
    /// A step's parent names as a JSON array of strings (`[]` for a root step).
    package static func encodeParents(_ parents: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(parents)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// - Throws: ``SuretyError/Code/storeCorrupt`` when the text is not a JSON array of strings.
    package static func decodeParents(_ text: String) throws -> [String] {
        do { return try JSONDecoder().decode([String].self, from: Data(text.utf8)) } catch {
            throw SuretyError(.storeCorrupt, "a workflow step's parents do not decode")
        }
    }

    /// A stored state column (``WorkflowState``, ``WorkflowStepState``) read back.
    /// - Throws: ``SuretyError/Code/storeCorrupt`` when the text names no case.
    package static func decodeEnum<E: RawRepresentable>(_ type: E.Type, _ text: String) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: text) else { throw SuretyError(.storeCorrupt, "unknown \(E.self) '\(text)' in a workflow row") }
        return value
    }
}
