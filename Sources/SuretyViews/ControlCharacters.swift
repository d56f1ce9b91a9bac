/// The characters that must never reach an operator's screen as they are: `surety`'s text output
/// shows them as visible escapes and ``JSONValue/rendered(pretty:)`` writes them as `\uXXXX`.
///
/// C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F); and the invisible characters that
/// change what a terminal shows around them (issue 17): the bidirectional marks, embeddings,
/// overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), with which a
/// stored value can reverse the columns printed after it, and the line and paragraph separators
/// (U+2028, U+2029).
public enum ControlCharacters {
    /// Whether `scalar` is one of them.
    public static func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        guard value >= 0x61C else { return false }
        return value == 0x61C || value == 0x200E || value == 0x200F || (0x2028...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }
}
