import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error, redrawn in place with `\r`. It draws only when
/// standard error is a terminal and the output is not JSON, so pipes, logs and `--json` stay clean.
struct ProgressBar {
    let total: Int
    let label: String
    let enabled: Bool
    static let width = 30

    init(total: Int, label: String, json: Bool) {
        self.total = total
        self.label = label
        self.enabled = !json && total > 0 && isatty(STDERR_FILENO) == 1
    }

    /// `[##########--------------------] 400/1200 requeued`.
    static func render(done: Int, total: Int, label: String) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] \(done)/\(total) \(label)"
    }

    func update(_ done: Int) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + Self.render(done: done, total: total, label: label)).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
