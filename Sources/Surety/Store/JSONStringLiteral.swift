/// Writes a JSON string literal: the one escaper behind the store's JSON columns
/// (``JSONColumns``) and the operator views' JSON (`SuretyViews.JSONValue`), so the two cannot
/// drift (review §1.10, D16).
///
/// `"` and `\` are escaped, `\n`, `\r` and `\t` get their short forms, and every other C0
/// control character becomes `\u00XX`. A caller may escape more scalars as `\uXXXX`
/// (`alsoEscaping`): the operator views also escape DEL, C1 controls, bidirectional marks and
/// the line and paragraph separators, which a terminal or a script reading the output would
/// otherwise act on. Both forms decode to the same string.
package enum JSONStringLiteral {
    /// Appends `string`, quoted and escaped, to `out`.
    package static func append(
        _ string: String, to out: inout String, alsoEscaping extra: (Unicode.Scalar) -> Bool = { _ in false }
    ) {
        out += "\""
        if string.unicodeScalars.allSatisfy({ !needsEscape($0) && !extra($0) }) {
            out += string
        } else {
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 || extra(scalar) {
                        appendUnicodeEscape(scalar, to: &out)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out += "\""
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\"" || scalar == "\\" || scalar.value < 0x20
    }

    /// `\uXXXX`, or a surrogate pair for a scalar outside the Basic Multilingual Plane.
    private static func appendUnicodeEscape(_ scalar: Unicode.Scalar, to out: inout String) {
        for unit in String(scalar).utf16 {
            let hex = String(unit, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }
}
