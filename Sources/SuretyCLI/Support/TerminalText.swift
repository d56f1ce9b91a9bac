/// Makes stored text safe to print on an operator's terminal. Error messages, queue names, types,
/// tags, correlation values, notes and audit actors and reasons come from jobs and their callers;
/// printed raw, an `ESC ]52;…` in one of them writes the clipboard, `ESC ]0;…` the window title,
/// and cursor movements can hide lines. Every C0 and C1 control character and DEL is shown as a
/// visible escape instead: `\n`, `\r`, `\t`, else `\u{1B}` (hexadecimal code point).
enum TerminalText {
    /// `text` as one field of a line: every control character escaped, newlines included.
    static func field(_ text: String) -> String { escaped(text, keepingNewlines: false) }

    /// `text` as output: every control character escaped but, with `keepingNewlines`, the
    /// newlines the layout put between lines.
    static func escaped(_ text: String, keepingNewlines: Bool) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) && !(keepingNewlines && $0 == "\n") }) else { return text }
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 8)
        for scalar in text.unicodeScalars {
            guard isControl(scalar), !(keepingNewlines && scalar == "\n") else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F); and the invisible characters
    /// that change what a terminal shows around them (issue 17): the bidirectional marks,
    /// embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E,
    /// U+2066–U+2069), with which a stored value can reverse the columns printed after it, and
    /// the line and paragraph separators (U+2028, U+2029).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        guard value >= 0x61C else { return false }
        return value == 0x61C || value == 0x200E || value == 0x200F || (0x2028...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }
}
