import ArgumentParser
import Foundation
import Surety

/// `--keep-completed`, `--keep-cancelled`, `--keep-dead`, `--keep-audit`, `--prune-batch`:
/// the retention policy, shared by `surety prune` and `surety worker`.
struct RetentionOptions: ParsableArguments {
    @Option(name: .customLong("keep-completed"), help: ArgumentHelp("How long completed jobs are kept (90s, 15m, 24h, 30d, or forever).", valueName: "age"))
    var keepCompleted: String = "24h"

    @Option(name: .customLong("keep-cancelled"), help: ArgumentHelp("How long cancelled and discarded jobs are kept.", valueName: "age"))
    var keepCancelled: String = "7d"

    @Option(name: .customLong("keep-dead"), help: ArgumentHelp("How long dead jobs stay in the dead-letter inbox.", valueName: "age"))
    var keepDead: String = "30d"

    @Option(name: .customLong("keep-audit"), help: ArgumentHelp("How long audit rows are kept once their job is gone (counted from the action).", valueName: "age"))
    var keepAudit: String = "90d"

    @Option(name: .customLong("prune-batch"), help: "The most rows one prune transaction deletes (1 to 100000).")
    var pruneBatch: Int = 500

    func validate() throws {
        _ = try policy(interval: .seconds(300))
    }

    func policy(interval: Duration) throws -> RetentionPolicy {
        guard (1...100_000).contains(pruneBatch) else { throw ValidationError("--prune-batch must be between 1 and 100000, got \(pruneBatch)") }
        return RetentionPolicy(
            completed: try TimeArguments.age(keepCompleted, option: "--keep-completed"),
            cancelled: try TimeArguments.age(keepCancelled, option: "--keep-cancelled"),
            dead: try TimeArguments.age(keepDead, option: "--keep-dead"),
            audit: try TimeArguments.age(keepAudit, option: "--keep-audit"),
            batchSize: pruneBatch,
            interval: interval
        )
    }
}
