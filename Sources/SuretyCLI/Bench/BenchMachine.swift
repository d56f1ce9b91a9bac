import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine a benchmark ran on, and how busy it was: figures taken on a loaded machine are
/// not comparable with figures from a quiet one.
struct BenchMachine: Codable, Sendable {
    var cpus: Int
    var cpuModel: String
    var memoryGib: Double
    var kernel: String
    /// 1, 5 and 15 minute load averages when the run started and when it ended.
    var loadAtStart: [Double]
    var loadAtEnd: [Double]?
    var build: String

    static func current() -> BenchMachine {
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return BenchMachine(
            cpus: ProcessInfo.processInfo.activeProcessorCount,
            cpuModel: cpuModel(),
            memoryGib: (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
            kernel: release, loadAtStart: loadAverage(), loadAtEnd: nil, build: build
        )
    }

    static func loadAverage() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        let count = getloadavg(&loads, 3)
        return count == 3 ? loads.map { ($0 * 100).rounded() / 100 } : []
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}

/// This process's resource use, for the worker-side figures.
enum ProcessUsage {
    #if os(Linux)
    static let selfUsage = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
    static let selfUsage = RUSAGE_SELF
    #endif

    /// User plus system CPU time used by this process so far, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(selfUsage, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A field of /proc/self/status in KiB (`VmHWM`: peak resident memory; `VmRSS`: current).
    /// Falls back to `ru_maxrss` for the peak where /proc is missing.
    static func statusKiB(_ field: String) -> Int? {
        if let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
                let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
                return Int(digits)
            }
        }
        if field == "VmHWM" {
            var usage = rusage()
            getrusage(selfUsage, &usage)
            return Int(usage.ru_maxrss)
        }
        return nil
    }
}
