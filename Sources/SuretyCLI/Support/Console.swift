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
enum Console {
    /// Writes `text` to standard output as is.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `text` and a newline to standard output.
    static func line(_ text: String = "") {
        write(text + "\n")
    }

    /// Writes `text` and a newline to standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Whether standard output is a terminal (live progress redraws one line only then).
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
