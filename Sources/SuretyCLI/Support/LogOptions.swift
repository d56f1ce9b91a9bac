import ArgumentParser
import Logging

/// Log levels on the command line.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

/// Loggers for the command: lines to standard error, or nowhere. Built per logger (never through
/// the process-wide `LoggingSystem.bootstrap`, which may run once only), so commands can also run
/// in-process in tests.
enum Logs {
    static func standardError(_ label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }

    static func silent(_ label: String) -> Logger {
        Logger(label: label) { _ in SwiftLogNoOpLogHandler() }
    }
}
