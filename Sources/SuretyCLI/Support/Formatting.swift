import Foundation

/// Text formatting shared by the commands.
enum Formatting {
    /// An ISO 8601 UTC timestamp with milliseconds: `2025-01-31T12:00:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func timestamp(_ date: Date?) -> String { date.map(timestamp) ?? "-" }

    /// A short human duration: `12ms`, `3.40s`, `2m05s`, `1h02m`.
    static func duration(_ seconds: TimeInterval?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        let value = max(0, seconds)
        if value < 1 { return "\(Int((value * 1000).rounded()))ms" }
        if value < 60 { return String(format: "%.2fs", value) }
        if value < 3600 {
            let total = Int(value.rounded())
            return String(format: "%dm%02ds", total / 60, total % 60)
        }
        let minutes = Int(value / 60)
        return String(format: "%dh%02dm", minutes / 60, minutes % 60)
    }

    /// `text` cut to `width` characters with an ellipsis, on one line.
    static func clip(_ text: String, _ width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        guard flat.count > width else { return flat }
        return String(flat.prefix(max(0, width - 1))) + "…"
    }

    /// Rows aligned in columns, with a header line. The last column is not padded. Every cell is
    /// one field: control characters, newlines included, are escaped (``TerminalText/field(_:)``).
    static func table(_ header: [String], _ rows: [[String]], indent: String = "") -> String {
        let rows = rows.map { $0.map(TerminalText.field) }
        let columns = header.count
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < columns {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func render(_ row: [String]) -> String {
            var line = indent
            for (index, cell) in row.enumerated() where index < columns {
                if index == columns - 1 {
                    line += cell
                } else {
                    line += cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) + "  "
                }
            }
            return line.trimmingTrailingSpaces()
        }
        return ([render(header)] + rows.map(render)).joined(separator: "\n")
    }

    /// `key=value, key=value`, sorted by key, control characters escaped.
    static func pairs(_ dictionary: [String: String]) -> String {
        dictionary.isEmpty ? "-" : TerminalText.field(dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
    }

    /// A count with its noun, singular or plural.
    static func count(_ value: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(value) \(value == 1 ? singular : (plural ?? singular + "s"))"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
