/// Thrown when a stored payload no longer decodes into its job type: permanent, and marked so
/// that a requeue refuses it unless forced.
package struct PayloadDecodingFailure: Error, CustomStringConvertible {
    package var type: String
    package var detail: String
    package init(type: String, detail: String) {
        self.type = type
        self.detail = detail
    }
    package var description: String { "payload does not decode as \(type): \(detail)" }
}
