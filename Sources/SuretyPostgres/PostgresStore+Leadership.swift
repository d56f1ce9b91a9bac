import Foundation
import Logging
import NIOCore
import PostgresNIO
import Surety

/// Maintenance leadership through PostgreSQL session advisory locks on one dedicated connection.
///
/// - Each store opens, on its first ``ifLeader(of:_:)``, one connection of its own outside the
///   pool (so leading never takes a pooled connection away from claims, and a small pool cannot
///   starve it), and takes `pg_try_advisory_lock(hashtext(schema), hashtext('surety:' || task))`
///   on it without waiting.
/// - The lock is kept between passes (the node stays the leader of that task, so one node does
///   the work rather than every node taking turns) until ``resignLeadership(of:)``, until the
///   store's ``run()`` ends, or until the session ends: a crashed, killed or partitioned node's
///   locks are released by the server, and another node takes over at its next pass. TCP
///   keepalives on the session (10 s idle, 5 s interval, 3 probes) bound how long a vanished
///   node's session lingers on the server.
/// - At each pass the leader checks its session with one round trip; a session found closed is
///   replaced, and the lock is taken again only if nobody else took it meanwhile.
/// - Within one store, one body per task runs at a time: a second concurrent caller gets `nil`.
///
/// No query is ever written to a connection that is already closed: postgres-nio 1.33 never
/// completes (and never cancels) a query written to a closed connection, which is what hung the
/// first version of this code (it unlocked on a pooled connection whose backend was gone).
extension PostgresStore: MaintenanceLeadershipStore {
    public func ifLeader<T: Sendable>(
        of task: String, _ body: @Sendable () async throws -> T
    ) async throws -> T? {
        try await ensureReachable("lead \(task)")
        let leading: Bool
        do {
            leading = try await leadership.begin(task, store: self)
        } catch {
            throw PostgresErrors.wrap(error, configuration: configuration, operation: "lead \(task)")
        }
        guard leading else { return nil }
        do {
            let value = try await body()
            await leadership.end(task)
            return value
        } catch {
            await leadership.end(task)
            throw error
        }
    }

    /// Gives up the leadership of `task` (if this store holds it), so another node can take it at
    /// its next pass. Services call it when they stop; closing the store gives up every task.
    public func resignLeadership(of task: String) async {
        await leadership.resign(task, store: self)
    }

    /// Whether this store holds the leadership of `task` right now (as far as it knows: a session
    /// that died is noticed at the next pass).
    public func isLeader(of task: String) async -> Bool {
        await leadership.holds(task)
    }

    /// The backend process id of the leadership session, or `nil` before the first pass or after
    /// the session was closed (operators find it in `pg_stat_activity` as `surety-leader`).
    public func leadershipSessionPID() async -> Int32? {
        await leadership.sessionPID()
    }

    /// Takes the lock of `task` in this store's schema without waiting (two keys: the schema's
    /// hash and the task's, so schemas of one database never block each other).
    func leadershipLockQuery(_ task: String) -> PostgresQuery {
        "SELECT pg_try_advisory_lock(hashtext(\(configuration.schema)), hashtext('surety:' || \(task)))"
    }

    func leadershipUnlockQuery(_ task: String) -> PostgresQuery {
        "SELECT pg_advisory_unlock(hashtext(\(configuration.schema)), hashtext('surety:' || \(task)))"
    }

    /// Opens the leadership session (outside the pool).
    func openLeadershipSession() async throws -> PostgresConnection {
        try await connectDirectly(startupParameters: [
            ("application_name", "surety-leader"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ])
    }
}

/// The leadership session of one store: its dedicated connection, the tasks it holds, and the
/// tasks whose body runs in this process now.
actor LeadershipSession {
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the maintenance leadership session was closed" }
    }

    struct Unresponsive: Error, CustomStringConvertible {
        var duration: Duration
        var description: String { "the maintenance leadership session did not answer within \(duration)" }
    }

    private var connection: PostgresConnection?
    private var pid: Int32?
    private var held: Set<String> = []
    private var running: Set<String> = []
    private var closed = false
    /// Serialises the use of the connection (one exchange at a time, no interleaving at awaits).
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let logger: Logger
    private let timeout: Duration

    init(logger: Logger, timeout: Duration) {
        self.logger = logger
        self.timeout = timeout
    }

    /// Returns whether this store leads `task` now; when it does, `task` counts as running here
    /// until ``end(_:)``.
    func begin(_ task: String, store: PostgresStore) async throws -> Bool {
        guard !running.contains(task) else { return false }
        running.insert(task)
        do {
            let leads = try await exclusively { try await self.take(task, store: store) }
            if !leads { running.remove(task) }
            return leads
        } catch {
            running.remove(task)
            throw error
        }
    }

    func end(_ task: String) { running.remove(task) }

    func holds(_ task: String) -> Bool { held.contains(task) && !(connection?.isClosed ?? true) }

    func sessionPID() -> Int32? { connection?.isClosed == false ? pid : nil }

    func resign(_ task: String, store: PostgresStore) async {
        await exclusively {
            guard self.held.contains(task), let connection = self.connection else { return }
            self.held.remove(task)
            do {
                _ = try await self.run(store.leadershipUnlockQuery(task), on: connection)
            } catch {
                // A session that may still hold the lock is closed: the server then releases it.
                self.logger.warning("surety: could not release a maintenance lock; closing the leadership session", metadata: [
                    "task": "\(task)", "error": "\(error)",
                ])
                self.drop()
            }
        }
    }

    /// Closes the session (every lock goes with it); later passes are refused.
    func close() async {
        await exclusively {
            self.closed = true
            self.drop()
        }
    }

    // MARK: Inside the exclusive section

    private func take(_ task: String, store: PostgresStore) async throws -> Bool {
        guard !closed else { throw Closed() }
        if held.contains(task), let connection, !connection.isClosed {
            do {
                _ = try await run("SELECT 1", on: connection)
                return true
            } catch {
                logger.warning("surety: the maintenance leadership session was lost; reconnecting", metadata: ["task": "\(task)", "error": "\(error)"])
                drop()
            }
        }
        let connection = try await session(store)
        let rows = try await run(store.leadershipLockQuery(task), on: connection)
        guard let row = rows.first, try row.decode(Bool.self) else { return false }
        if held.insert(task).inserted {
            logger.info("surety: this node now leads a maintenance task", metadata: ["task": "\(task)", "schema": "\(store.configuration.schema)"])
        }
        return true
    }

    /// The open session, opened anew when there is none or it was closed (its locks are gone then).
    private func session(_ store: PostgresStore) async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        if connection != nil {
            if !held.isEmpty {
                logger.warning("surety: the maintenance leadership session closed; its tasks are led by whichever node takes them next", metadata: [
                    "tasks": "\(held.sorted().joined(separator: ","))",
                ])
            }
            drop()
        }
        let opened = try await store.openLeadershipSession()
        connection = opened
        do {
            pid = try await run("SELECT pg_backend_pid()", on: opened).first?.decode(Int32.self)
        } catch {
            drop()
            throw error
        }
        return opened
    }

    private func drop() {
        held = []
        pid = nil
        if let connection {
            self.connection = nil
            // Kept alive until closed (postgres-nio asserts that a connection is closed before it goes).
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }

    /// One statement on the session, never written to a closed connection and bounded in time.
    private func run(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw Closed() }
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: [PostgresRow].self)
        let timeout = timeout
        let (seconds, attoseconds) = timeout.components
        let timer = loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            promise.fail(Unresponsive(duration: timeout))
        }
        Self.send(query, on: connection, logger: logger).whenComplete { result in
            timer.cancel()
            promise.completeWith(result.map(\.rows))
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as Unresponsive {
            drop()
            throw error
        }
    }

    /// The future-returning form of `query` (an async context would pick the async overload).
    private nonisolated static func send(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) -> EventLoopFuture<PostgresQueryResult> {
        connection.query(query, logger: logger) // unguarded-ok: the caller's timer fails it if no answer comes
    }

    private func exclusively<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        while busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            busy = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}
