import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A named place in one job's path where a process can be made to die with SIGKILL, to prove
/// that what was written before it holds and what was not is not believed (issue 17;
/// docs/guarantees.md shows what each point attacks and what every run found).
///
/// Switched on from the environment, in any build:
///
///     SURETY_CRASH_POINT=effect.performed SURETY_CRASH_AFTER=2 surety worker ...
///
/// kills the process the second time any task reaches `effect.performed`. Off (the variable
/// unset, the default), reaching a point costs one load of a value computed once per process.
package enum CrashPoint: String, CaseIterable, Sendable {
    /// A worker's claim has committed and returned jobs; none of them has started.
    case claimCommitted = "claim.committed"
    /// An effect's `started` record is written; the effect has not been performed.
    case effectStarted = "effect.started"
    /// The effect was performed (the provider answered); its `confirmed` record is not written.
    case effectPerformed = "effect.performed"
    /// The job's body returned (its effects confirmed); the attempt's outcome is not written.
    case attemptEnded = "attempt.ended"
    /// Inside the store's transaction that writes a batch of outcomes, after the rows were
    /// changed and before the commit.
    case outcomeBatch = "outcome.batch"
    /// Inside the transaction that ends a workflow step's job and releases the next steps,
    /// after their jobs were inserted and the steps updated, before the commit.
    case workflowRelease = "workflow.release"
    /// Inside an operator's requeue, after a job's row and audit row were written, before the
    /// commit.
    case requeue = "requeue"
    /// Inside a group commit of enqueues, after the rows were inserted and before the commit.
    case enqueueGroup = "enqueue.group"

    /// What the point attacks, in a sentence (the table in docs/guarantees.md).
    package var summary: String {
        switch self {
        case .claimCommitted: "after the claim commits, before any job starts"
        case .effectStarted: "between an effect's begin record and its perform"
        case .effectPerformed: "after the effect is performed, before it is confirmed"
        case .attemptEnded: "after the body returned, before the outcome is written"
        case .outcomeBatch: "inside the transaction of an outcome batch"
        case .workflowRelease: "inside the transaction that releases a workflow's next step"
        case .requeue: "inside an operator's requeue transaction"
        case .enqueueGroup: "inside a group commit of enqueues"
        }
    }
}

/// The crash point this process was started with, if any (``CrashPoint``).
package enum CrashPoints {
    /// The environment variable naming the point (a ``CrashPoint`` raw value).
    package static let pointVariable = "SURETY_CRASH_POINT"
    /// The environment variable saying at which reach of the point to die. Default: 1.
    package static let afterVariable = "SURETY_CRASH_AFTER"

    /// Read once, on the first reach of any point.
    private static let armed: Armed? = Armed(environment: ProcessInfo.processInfo.environment)

    /// Dies with SIGKILL when `point` is the armed point and this is its armed reach; otherwise
    /// returns at once.
    @inline(__always)
    package static func reach(_ point: CrashPoint) {
        guard let armed, armed.point == point else { return }
        armed.reached()
    }

    /// The armed point and its count.
    private final class Armed: Sendable {
        let point: CrashPoint
        let after: Int
        private let count = Atomic<Int>(0)

        init?(environment: [String: String]) {
            guard let name = environment[CrashPoints.pointVariable], !name.isEmpty else { return nil }
            guard let point = CrashPoint(rawValue: name) else {
                // A misspelt point must not pass silently as "survived".
                FileHandle.standardError.write(Data("surety: unknown \(CrashPoints.pointVariable) '\(name)'; known: \(CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
                exit(70)
            }
            self.point = point
            self.after = environment[CrashPoints.afterVariable].flatMap { Int($0) }.map { max(1, $0) } ?? 1
        }

        func reached() {
            let reach = count.add(1, ordering: .relaxed).newValue
            guard reach == after else { return }
            // The line a prover looks for to tell this kill from any other death.
            FileHandle.standardError.write(Data("surety: crash point \(point.rawValue) reached (\(reach)); SIGKILL\n".utf8))
            kill(getpid(), SIGKILL)
            // SIGKILL cannot be caught; nothing after this line runs.
        }
    }
}
