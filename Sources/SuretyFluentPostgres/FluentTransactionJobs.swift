import FluentPostgresDriver
import PostgresNIO
import Surety
import SuretyPostgres
import SuretyVapor
import Vapor

extension PostgresStore {
    /// Transactional enqueue inside a Fluent transaction on PostgreSQL: inserts the jobs on the
    /// transaction's own connection, so they exist if and only if the transaction commits.
    ///
    /// ```swift
    /// try await req.db.transaction { db in
    ///     try await order.save(on: db)
    ///     try await store.enqueue([req.surety.newJob(SendReceipt(orderID: order.id!))], in: db)
    /// }
    /// ```
    ///
    /// The store must use the same PostgreSQL database as Fluent (its tables may sit in their own
    /// schema). See `PostgresStore.enqueue(_:on:)` for savepoints, wake-ups and load shedding.
    /// - Parameters:
    ///   - jobs: the jobs to insert, from `JobQueue.newJob(_:tenant:options:)` or `req.surety.newJob(_:options:)`.
    ///   - database: the `db` a Fluent `transaction` closure receives (fluent-postgres-driver).
    /// - Throws: `SuretyError.Code.invalidArgument` when `database` is not inside a
    ///   transaction or is not a PostgreSQL database, else as `PostgresStore.enqueue(_:on:)`.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], in database: any Database) async throws -> [EnqueuedJob] {
        guard database.inTransaction else {
            throw SuretyError(.invalidArgument, "enqueue(_:in:) takes the database of a Fluent transaction (req.db.transaction { db in ... }); this one is in none, so the jobs would not be tied to a commit")
        }
        guard let postgres = database as? any PostgresDatabase else {
            throw SuretyError(.invalidArgument, "enqueue(_:in:) needs a Fluent PostgreSQL database (fluent-postgres-driver); got \(type(of: database))")
        }
        return try await postgres.withConnection { connection in
            connection.eventLoop.makeFutureWithTask {
                try await self.enqueue(jobs, on: connection)
            }
        }.get()
    }
}

extension Request.SuretyJobs {
    /// Enqueues `job` for the request's tenant, with its trace context, inside the Fluent
    /// transaction `database` (PostgreSQL): the job exists if and only if the transaction commits.
    ///
    /// ```swift
    /// try await req.db.transaction { db in
    ///     try await user.save(on: db)
    ///     try await req.surety.enqueue(SendWelcomeEmail(email: user.email), in: db)
    /// }
    /// ```
    /// - Parameters:
    ///   - job: the job to enqueue.
    ///   - options: Default: the type's options.
    ///   - database: the `db` a Fluent `transaction` closure receives (fluent-postgres-driver).
    /// - Throws: as `newJob(_:options:)`, `SuretyError.Code.invalidArgument` when the
    ///   configured store is not a `PostgresStore`, else as `PostgresStore.enqueue(_:in:)`.
    @discardableResult
    public func enqueue<J: Job>(_ job: J, options: EnqueueOptions = EnqueueOptions(), in database: any Database) async throws -> EnqueuedJob {
        guard let store = try request.application.surety.store() as? PostgresStore else {
            throw SuretyError(.invalidArgument, "enqueue(_:in:) needs app.surety's store to be a PostgresStore on the same database as Fluent")
        }
        return try await store.enqueue([newJob(job, options: options)], in: database)[0]
    }
}
