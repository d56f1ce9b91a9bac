import Foundation
import GRDB
import Surety

extension SQLiteStore {
    /// Runs `body` and the completion of the running attempt in ONE write transaction: the job's
    /// own writes (in tables of this same SQLite file) and its `completed` state commit together
    /// or not at all. The completion is fenced on the attempt's lease token: if the lease was lost
    /// meanwhile (the job was rescued and may run elsewhere), the whole transaction rolls back and
    /// this throws `SuretyError.Code.leaseLost`.
    ///
    /// ```swift
    /// func run(_ context: JobContext) async throws {
    ///     let store = try context.dependency(SQLiteStore.self)
    ///     try await store.complete(context) { db in
    ///         try db.execute(sql: "UPDATE accounts SET balance = balance - ? WHERE id = ?", arguments: [amount, from])
    ///         try db.execute(sql: "UPDATE accounts SET balance = balance + ? WHERE id = ?", arguments: [amount, to])
    ///     }
    /// }
    /// ```
    ///
    /// Call it last in `run`; the worker sees that the attempt is already completed and writes
    /// nothing more for it.
    @discardableResult
    public func complete<T: Sendable>(_ context: JobContext, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await complete(context, stepResultText: nil, body)
    }

    /// ``complete(_:_:)`` for a workflow step that hands on a result: `body`, the completion and
    /// the step's result (what `JobContext.setStepResult(_:)` would store, written here instead) commit in
    /// ONE transaction, or none of them. The steps after it are released in that transaction too,
    /// so they can never run without the result, and a crash cannot keep the completion without it.
    ///
    /// ```swift
    /// try await store.complete(context, stepResult: Receipt(id: receiptID)) { db in
    ///     try db.execute(sql: "UPDATE orders SET paid = 1 WHERE id = ?", arguments: [orderID])
    /// }
    /// ```
    ///
    /// - Throws: as ``complete(_:_:)``; `invalidPayload` when the result does not encode and
    ///   `invalidArgument` when the job is not a workflow step (nothing written then).
    @discardableResult
    public func complete<T: Sendable, R: Encodable & Sendable>(
        _ context: JobContext, stepResult: R, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await complete(context, stepResultText: try context.encodedStepResult(stepResult), body)
    }

    private func complete<T: Sendable>(
        _ context: JobContext, stepResultText: String?, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        if let stepResultText { try StoreErrors.refuseNUL([stepResultText], "the step's result") }
        let completedAt = context.clock.now()
        let finish = try context.completionTransition(at: completedAt)
        let value = try await write("complete in transaction") { db -> T in
            let value: T
            do {
                value = try body(db)
            } catch let error as DatabaseError {
                throw error
            } catch {
                // The application's own error (a PermanentFailure, say) rolls back the
                // transaction and reaches the job unchanged, so its class is kept.
                throw ApplicationError(error: error)
            }
            let (results, _) = try Self.finish([finish], db)
            guard results == [.applied] else {
                throw SuretyError(.leaseLost, "job \(context.id) attempt \(context.attempt): the lease was lost before the transaction committed; rolled back")
            }
            if let stepResultText { try Self.storeStepResult(stepResultText, ofCompleted: finish.lease.jobID, db) }
            return value
        }
        context.markCompletedInTransaction(at: completedAt)
        return value
    }
}

/// An error the application threw inside a store transaction: passed through unwrapped.
struct ApplicationError: Error {
    var error: any Error
}
