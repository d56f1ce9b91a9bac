import Foundation
import Logging
import Synchronization

/// A swift-log handler that keeps every entry, so tests can check what was logged (and that no
/// payload or secret was).
public final class LogCapture: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
        /// The message and metadata as one line, for "does this appear anywhere" checks.
        public var line: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    /// `SURETY_TEST_ECHO_LOGS=1` also writes every captured entry to standard error as it is
    /// logged (default off), for diagnosing a test that hangs before it can print what it saw.
    static let echo = ProcessInfo.processInfo.environment["SURETY_TEST_ECHO_LOGS"] == "1"

    public var entries: [Entry] { storage.withLock { $0 } }

    /// A logger writing into this capture.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { _, new in new } }
            let entry = Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })
            capture.append(entry)
            if LogCapture.echo {
                FileHandle.standardError.write(Data("\(Date().timeIntervalSince1970) [\(event.level)] \(entry.line)\n".utf8))
            }
        }
    }
}
