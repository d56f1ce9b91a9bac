import Foundation

/// The rows of a prove run as a terminal table, as the Markdown table of docs/guarantees.md, or
/// as JSON.
enum ProveReport {
    static let columns = ["store", "crash point", "jobs", "kills", "lost", "dup. effects", "concurrent runs",
                          "tenant mix-ups", "in doubt: stopped / reconciled", "unresolved", "done w/o effect",
                          "unaccounted attempts", "unaudited", "holds"]

    static func cells(_ row: ProveRow) -> [String] {
        [row.store, row.point, "\(row.jobs)", "\(row.kills)", "\(row.lost)", "\(row.duplicateEffects)", "\(row.concurrentRuns)",
         "\(row.tenantMismatches)", "\(row.inDoubtStopped) / \(row.inDoubtReconciled)", "\(row.unresolvedInDoubt)",
         "\(row.doneWithoutEffect)", "\(row.unaccountedAttempts)", "\(row.unauditedChanges)", row.holds ? "yes" : "NO"]
    }

    static func text(_ rows: [ProveRow]) -> String {
        let table = [columns] + rows.map(cells)
        let widths = columns.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var out = table.map { line in
            line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
        for row in rows where !row.problems.isEmpty {
            out += "\n\n\(row.store) \(row.point):\n" + row.problems.prefix(20).map { "  - " + TerminalText.escaped($0, keepingNewlines: false) }.joined(separator: "\n")
        }
        return out
    }

    static func markdown(_ rows: [ProveRow]) -> String {
        var lines = ["| " + columns.joined(separator: " | ") + " |", "|" + columns.map { _ in "---" }.joined(separator: "|") + "|"]
        for row in rows { lines.append("| " + cells(row).enumerated().map { $0 == 1 ? "`\($1)`" : $1 }.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n")
    }

    static func json(_ rows: [ProveRow], seed: UInt64) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        struct Run: Encodable {
            var seed: UInt64
            var holds: Bool
            var rows: [ProveRow]
        }
        let data = (try? encoder.encode(Run(seed: seed, holds: rows.allSatisfy(\.holds), rows: rows))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
