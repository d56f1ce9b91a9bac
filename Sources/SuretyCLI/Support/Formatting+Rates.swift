import Foundation

extension Formatting {
    /// A rate or ratio for people: `12`, `3.5`, `0.25` (at most two decimals, no trailing zeros).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        if value == value.rounded() { return String(Int64(value)) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// A percentage with one decimal: `12.5%`; `-` when there is nothing to divide.
    static func percent(_ part: Int, of whole: Int) -> String {
        whole > 0 ? String(format: "%.1f%%", Double(part) * 100 / Double(whole)) : "-"
    }
}
