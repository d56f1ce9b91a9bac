import ArgumentParser
import Surety

/// A failure of the command itself (not of Surety's APIs), with the exit code it maps to.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = ExitCodes.failure) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// The exit codes of `surety` (docs/cli.md lists them).
public enum ExitCodes {
    /// Success.
    public static let success: Int32 = 0
    /// A runtime error: the store failed, a job was not found, a payload did not decode,
    /// an operator action skipped jobs named explicitly.
    public static let failure: Int32 = 1
    /// A usage error: unknown command or flag, a bad value, an invalid store URL.
    public static let usage: Int32 = 2
    /// `surety demo` ran but one of its checks failed.
    public static let demoCheckFailed: Int32 = 3
}

extension SuretyError {
    /// The exit code for this error: usage errors are the caller's to fix on the command line.
    var exitCode: Int32 {
        switch code {
        case .invalidStoreURL, .invalidArgument, .invalidTenant: ExitCodes.usage
        default: ExitCodes.failure
        }
    }
}
