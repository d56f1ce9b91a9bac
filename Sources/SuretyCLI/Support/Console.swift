import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the command writes. Everything goes through unbuffered writes to the file descriptors,
/// so standard output and standard error interleave in the order they were written, and a
/// progress line refreshed with `\r` appears at once.
///
/// Text is written through ``TerminalText``: any control character but a newline is shown as a
/// visible escape, so stored text (an error message, a queue name) can never drive the terminal.
/// Views escape newlines inside their fields too (``TerminalText/field(_:)``). Only
/// ``control(_:)`` writes a terminal sequence, and only the command's own.
enum Console {
    /// Writes `text` to standard output, control characters but newlines escaped.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(TerminalText.escaped(text, keepingNewlines: true).utf8))
    }

    /// Writes the command's own terminal control sequence (a carriage return, a screen clear) as
    /// is. Never pass stored text.
    static func control(_ sequence: String) {
        FileHandle.standardOutput.write(Data(sequence.utf8))
    }

    /// Writes `text` and a newline to standard output, control characters but newlines escaped.
    static func line(_ text: String = "") {
        write(text + "\n")
    }

    /// Writes `text` and a newline to standard error, control characters but newlines escaped.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((TerminalText.escaped(text, keepingNewlines: true) + "\n").utf8))
    }

    /// Whether standard output is a terminal (live progress redraws one line only then).
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
