import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of a network-fault or server-restart test, as a line of the table
/// "Network faults and restarts (PostgreSQL)" that scripts/guarantees.sh renders into
/// docs/guarantees.md (issue 17: every crash point *and fault* by store, with its counts).
///
/// ``append()`` writes it as one JSON line to the file named by `SURETY_GUARANTEES_OUT`, and does
/// nothing when that variable is unset. Reporting never changes what a test asserts: the counts
/// are the ones the test already computes, and a test that fails still fails.
struct GuaranteeReport: Encodable {
    /// A short, stable name of the fault (the table's first column).
    var fault: String
    var store = "postgres"
    /// Jobs in the run (for the enqueue test: logical jobs acknowledged).
    var jobs: Int
    /// Faults injected: partitions, resets of every connection, server restarts.
    var faults: Int
    var lost: Int
    /// Effects performed, or runs completed, beyond what the test allows (as it measures them).
    var duplicateEffects: Int
    /// Runs of one job that overlapped another run of it; `nil` when the test does not observe runs.
    var concurrentRuns: Int?
    /// `nil` in a single-tenant test, which cannot observe a mix-up (``notes`` says so).
    var tenantMismatches: Int?
    /// `nil` for a test with nothing drawn at random.
    var seed: UInt64?
    var seconds: Double
    /// Every count that must be zero is zero (the test's own expectations are checked too: the
    /// script publishes a run only when `swift test` passed).
    var holds: Bool
    var notes: String

    enum CodingKeys: String, CodingKey {
        case fault, store, jobs, faults, lost, duplicateEffects, concurrentRuns, tenantMismatches, seed, seconds, holds, notes
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fault, forKey: .fault)
        try container.encode(store, forKey: .store)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(faults, forKey: .faults)
        try container.encode(lost, forKey: .lost)
        try container.encode(duplicateEffects, forKey: .duplicateEffects)
        // Explicit nulls: every line has every field.
        try container.encode(concurrentRuns, forKey: .concurrentRuns)
        try container.encode(tenantMismatches, forKey: .tenantMismatches)
        try container.encode(seed, forKey: .seed)
        try container.encode((seconds * 10).rounded() / 10, forKey: .seconds)
        try container.encode(holds, forKey: .holds)
        try container.encode(notes, forKey: .notes)
    }

    /// The note of a test whose jobs all belong to one tenant.
    static let singleTenant = "single tenant (system): tenant mix-ups not measured"

    /// Seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Appends this run as one JSON line to `SURETY_GUARANTEES_OUT` (`O_APPEND`, one `write`, so
    /// tests running in parallel never interleave); nothing when the variable is unset. A line
    /// that cannot be written is only printed (the test's result stays its own): the script then
    /// finds the row missing and fails.
    func append() {
        guard let path = ProcessInfo.processInfo.environment["SURETY_GUARANTEES_OUT"], !path.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(self) else {
            say("guarantee report: could not encode the line of '\(fault)'")
            return
        }
        line.append(UInt8(ascii: "\n"))
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            say("guarantee report: cannot open \(path) (errno \(errno))")
            return
        }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != line.count { say("guarantee report: short write to \(path) (\(written) of \(line.count) bytes)") }
        say("guarantee report: \(String(decoding: line.dropLast(), as: UTF8.self))")
    }
}
