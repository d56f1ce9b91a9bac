import Foundation
import GRDB
import Surety

/// The fault injection the demo jobs apply. Rates are probabilities per attempt, from 0 to 1.
public struct DemoFaults: Sendable, Hashable {
    /// `demo.email`: the provider answers 502 before accepting the message. Default: 0.1.
    public var emailProviderErrorRate: Double
    /// `demo.email`: the provider accepts (and records) the message, then the response is lost.
    /// Default: 0.1.
    public var emailResponseLostRate: Double
    /// `demo.payment`: the transfer commits (with the job's completion), then the connection drops
    /// before the job learns it; the job stays completed. Default: 0.05.
    public var paymentResponseLostRate: Double

    public init(emailProviderErrorRate: Double = 0.1, emailResponseLostRate: Double = 0.1, paymentResponseLostRate: Double = 0.05) {
        self.emailProviderErrorRate = emailProviderErrorRate
        self.emailResponseLostRate = emailResponseLostRate
        self.paymentResponseLostRate = paymentResponseLostRate
    }

    /// No injected faults (the payload-driven faults of `demo.flaky` still apply).
    public static let none = DemoFaults(emailProviderErrorRate: 0, emailResponseLostRate: 0, paymentResponseLostRate: 0)
}

/// What the demo jobs need, handed to them through `JobDependencies`: the application's
/// database (the store's GRDB pool, same file; or the PostgreSQL store's pool, same schema) and
/// the fault-injection settings.
public struct DemoServices: Sendable {
    /// Where the demo's own tables live (`demo_email_provider`, `demo_accounts`, `demo_transfers`).
    public let tables: DemoDatabase
    public let faults: DemoFaults
    /// When set, every random choice of a demo job is a function of (seed, job id, attempt), so
    /// two runs with the same seed make the same choices whichever process runs the attempt.
    public let seed: UInt64?

    /// The demo tables in an SQLite store's file.
    /// - Parameters:
    ///   - database: the store's GRDB connection (`SQLiteStore.database`).
    ///   - faults: Default: ``DemoFaults/init(emailProviderErrorRate:emailResponseLostRate:paymentResponseLostRate:)`` defaults.
    ///   - seed: Default: none (fresh randomness).
    public init(database: any DatabaseWriter, faults: DemoFaults = DemoFaults(), seed: UInt64? = nil) {
        self.init(tables: .sqlite(database), faults: faults, seed: seed)
    }

    /// The demo tables wherever `tables` says. Defaults as ``init(database:faults:seed:)``.
    public init(tables: DemoDatabase, faults: DemoFaults = DemoFaults(), seed: UInt64? = nil) {
        self.tables = tables
        self.faults = faults
        self.seed = seed
    }

    /// A number in [0, 1) for this attempt and purpose.
    public func unitRandom(_ context: JobContext, _ purpose: String) -> Double {
        guard let seed else { return Double.random(in: 0..<1) }
        return DemoRandom.unit(seed: seed, job: context.id.rawValue, attempt: context.attempt, purpose: purpose)
    }

    /// The opening balance of an account the demo has not seen before.
    public static let openingBalance = 1000
}

/// Deterministic randomness: SplitMix64 over a stable hash (FNV-1a, not Swift's per-process
/// `Hasher`) of the inputs.
public enum DemoRandom {
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    public static func unit(seed: UInt64, job: Int64, attempt: Int, purpose: String) -> Double {
        let bits = mix(seed ^ mix(UInt64(bitPattern: job) ^ mix(UInt64(attempt) ^ fnv1a(purpose))))
        return Double(bits >> 11) / Double(UInt64(1) << 53)
    }
}

/// A seeded generator for choosing the demo's workload.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return DemoRandom.mix(state)
    }
}
