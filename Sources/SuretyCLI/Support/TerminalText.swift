import SuretyViews

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

    /// The characters ``ControlCharacters`` names (C0, DEL, C1, bidirectional controls, line and
    /// paragraph separators): the same set `--json` escapes.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool { ControlCharacters.contains(scalar) }
}
