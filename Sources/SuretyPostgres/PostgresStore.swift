import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Surety
import Synchronization

/// The PostgreSQL store: a `PostgresClient` connection pool, `FOR UPDATE SKIP LOCKED` claims,
/// batched finishes, and LISTEN/NOTIFY wake-ups across processes.
///
/// The client's connections need a running ``run()``: run the store as a ServiceLifecycle
/// `Service`, or scope it with ``withStore(url:schema:logger:_:)``:
///
/// ```swift
/// try await PostgresStore.withStore(url: "postgres://app:secret@db:5432/app") { store in
///     try await store.migrate()
///     let queue = JobQueue(store: store)
///     ...
/// }
/// ```
///
/// - Every `JobStore` method is one statement or one transaction.
/// - All tables live in ``Configuration/schema`` (default `public`): every pooled connection has
///   its `search_path` set to it. The tables are documented in docs/schema.md.
/// - The first call (usually ``migrate()``) checks that the server can be reached and the
///   credentials are accepted within ``Configuration/connectTimeout``, and fails with a clear
///   `storeUnavailable` error otherwise.
public final class PostgresStore: JobStore, JobInspectionStore, OperatorActionStore, AvailabilitySignalStore, Service {
    /// The configuration the store was opened with.
    public let configuration: Configuration
    /// The connection pool (running only while ``run()`` runs).
    public let client: PostgresClient
    let logger: Logger

    private let availability = AvailabilityBroadcaster()
    /// The queue limits claims and enqueues read (PostgresStore+FlowControl.swift).
    let limitsCache: LimitsCache
    let listenState = Mutex(ListenState())
    /// Set once a connection was established: later calls skip the reachability probe.
    private let reachable = Mutex(false)
    /// Faults tests inject into multi-step writes (disarmed: nothing happens).
    let faults = StoreFaults()
    /// Lease deadlines as SQL, on the configured ``LeaseClock``.
    var leaseTimes: LeaseTimes { LeaseTimes(clock: configuration.leaseClock) }
    /// Opens once ``run()`` has started the pool, so no call reaches the client before it runs.
    let poolStarted = StartGate()
    /// Opened by the first wake-up subscriber: a process that only enqueues (a web app) never
    /// holds a LISTEN connection nor decodes every NOTIFY on the database.
    let listenWanted = StartGate()
    /// Shares one statement or transaction among concurrent enqueues. Its callers stop waiting
    /// after ``Configuration/operationTimeout`` (enqueues without unique keys use a connection of
    /// the store's own, outside the pool's watchdog).
    let enqueueGroup: EnqueueGroupCommit
    /// The connection of its own that enqueues without unique keys use when it is idle.
    let enqueueConnection = EnqueueConnection()
    /// Concurrent first records and confirmations of effects share statements (PostgresStore+Effects.swift).
    let effectBegins: GroupCommit<BeginFirstEffects.Item, Bool>
    let effectConfirms: GroupCommit<ConfirmEffects.Item, Bool>
    /// The dedicated session that holds maintenance leadership (PostgresStore+Leadership.swift).
    let leadership: LeadershipSession

    /// The NOTIFY channel; the payload is the schema name, so stores on other schemas ignore it.
    static let channel = "surety_jobs_available"

    /// Creates the store. Nothing connects until ``run()`` runs and a call is made.
    public init(configuration: Configuration, logger: Logger = Logger(label: "surety.postgres")) {
        self.configuration = configuration
        self.logger = logger
        self.enqueueGroup = EnqueueGroupCommit(maximumItems: 1000, answerTimeout: configuration.operationTimeout)
        // Their writes are prepared statements, whose wait `execute` bounds already.
        self.effectBegins = GroupCommit(maximumItems: 500)
        self.effectConfirms = GroupCommit(maximumItems: 500)
        self.limitsCache = LimitsCache(refreshInterval: configuration.limitsRefreshInterval)
        self.leadership = LeadershipSession(logger: logger, timeout: max(configuration.connectTimeout, .seconds(10)))
        var client = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: Self.clientTLS(configuration.tls)
        )
        client.options.connectTimeout = configuration.connectTimeout
        client.options.maximumConnections = configuration.maximumConnections
        client.options.additionalStartupParameters = [("search_path", configuration.schema), ("application_name", "surety")]
        self.client = PostgresClient(configuration: client, backgroundLogger: logger)
    }

    /// Creates the store from a `postgres://user:password@host:port/database[?schema=NAME]` URL
    /// (see ``Configuration/init(url:schema:)``: the schema from the URL or `schema`, else `public`).
    public convenience init(url: String, schema: String? = nil, logger: Logger = Logger(label: "surety.postgres")) throws {
        self.init(configuration: try Configuration(url: url, schema: schema), logger: logger)
    }

    /// Runs the connection pool and the LISTEN loop until the task is cancelled (or, under
    /// ServiceLifecycle, until graceful shutdown).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    self.poolStarted.open()
                    await self.client.run()
                }
                group.addTask { await self.listenLoop() }
            }
        }
        // The leadership session's locks go with it: other nodes take the tasks over.
        await leadership.close()
        await enqueueConnection.close()
    }

    /// Runs `body` with a store whose pool runs around it, then stops the pool. Structured: the
    /// pool runs in a child task of a task group and is cancelled when `body` returns or throws.
    public static func withStore<T>(
        configuration: Configuration, logger: Logger = Logger(label: "surety.postgres"),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = PostgresStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { try await store.run() }
            do {
                let value = try await body(store)
                group.cancelAll()
                return value
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Runs `body` with a store for the URL (see ``withStore(configuration:logger:_:)``).
    public static func withStore<T>(
        url: String, schema: String? = nil, logger: Logger = Logger(label: "surety.postgres"),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        try await withStore(configuration: try Configuration(url: url, schema: schema), logger: logger, body)
    }

    // MARK: Wake-ups

    /// Wake-ups for an idle worker. The first call also starts the LISTEN connection (while
    /// ``run()`` runs); until then the store holds none.
    public func availabilitySignals() -> AsyncStream<Void> {
        listenWanted.open()
        return availability.subscribe()
    }

    /// Tells every in-process subscriber that jobs may have become claimable.
    func signal() { availability.signal() }

    // MARK: Access

    /// A pooled connection for `body`, after the first call's reachability check; errors become
    /// ``Surety/SuretyError``s for `operation`. Unless `limited` is false, a watchdog closes the
    /// connection when `body` runs past ``Configuration/operationTimeout``: closing fails what
    /// waits on the connection, so no call waits for ever for an answer that will not come.
    ///
    /// The caller waits at most the timeout plus a second for the answer (``AnswerDeadline``):
    /// after connection resets a statement was seen to stay unanswered even once the watchdog had
    /// closed its connection (PartitionTests), a postgres-nio call that nothing ever completes.
    /// Past the deadline the caller gets `storeUnavailable` with an unknown outcome and the stuck
    /// body is left behind, holding its pool connection until the process ends. So `body` runs in
    /// a task of its own and is handed over (`sending`).
    func pooled<T: Sendable>(_ operation: String, limited: Bool = true, _ body: sending @escaping (PostgresConnection) async throws -> T) async throws -> T {
        try await ensureReachable(operation)
        guard limited, let timeout = configuration.operationTimeout else { return try await pooledNow(operation, timeout: nil, body) }
        let deadline = timeout + .seconds(1)
        let result = await AnswerDeadline.first(handingOver: { () async -> Result<T, any Error> in
            do { return .success(try await self.pooledNow(operation, timeout: timeout, body)) } catch { return .failure(error) }
        }, or: deadline) {
            .failure(SuretyError(.storeUnavailable, "\(operation): the PostgreSQL server's answer did not arrive within \(deadline); the outcome is unknown; retry"))
        }
        return try result.get()
    }

    /// ``pooled(_:limited:_:)`` without the answer deadline: the watchdog only.
    private func pooledNow<T>(_ operation: String, timeout: Duration?, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                guard let timeout else { return try await body(connection) }
                let watchdog = Self.watchdog(connection, operation: operation, after: timeout, logger: logger)
                defer { watchdog.cancel() }
                return try await body(connection)
            }
        } catch {
            throw PostgresErrors.wrap(error, configuration: configuration, operation: operation)
        }
    }

    /// A task that closes `connection` after `timeout` unless cancelled first (the call ended).
    /// A task of its own, not a child: the call's body runs in the caller's task and is not
    /// `Sendable`, and the watchdog must act while that body waits.
    static func watchdog(_ connection: PostgresConnection, operation: String, after timeout: Duration, logger: Logger) -> Task<Void, Never> {
        Task {
            do { try await Task.sleep(for: timeout) } catch { return }
            logger.warning("a PostgreSQL call got no answer in time; closing its connection so it fails and is retried", metadata: [
                "operation": "\(operation)", "timeout": "\(timeout)",
            ])
            try? await connection.close()
        }
    }

    /// One transaction on a pooled connection; errors become ``Surety/SuretyError``s.
    /// `limited`: see ``pooled(_:limited:_:)``.
    func transaction<T: Sendable>(_ operation: String, limited: Bool = true, _ body: sending @escaping (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await pooled(operation, limited: limited) { connection in
            try await connection.queryIfOpen("BEGIN", logger: logger)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                // Not postgres-nio's withTransaction: after a failure it writes ROLLBACK even to
                // a connection the server closed (a crash or restart), and waits forever for the
                // answer. A closed connection's transaction is gone with it anyway.
                if !connection.isClosed { _ = try? await connection.queryIfOpen("ROLLBACK", logger: logger) }
                throw error
            }
            try await connection.queryIfOpen("COMMIT", logger: logger)
            return value
        }
    }

    /// One statement (its own implicit transaction) whose rows are collected by `collect`.
    func query<T: Sendable>(_ operation: String, _ query: PostgresQuery, _ collect: sending @escaping (PostgresRowSequence) async throws -> T) async throws -> T {
        let logger = logger
        return try await pooled(operation) { connection in
            try await collect(try await connection.queryIfOpen(query, logger: logger))
        }
    }

    /// One prepared statement on a pooled connection, confirmed committed; returns its rows.
    /// Waited for at most ``Configuration/operationTimeout`` plus a second, like every pooled
    /// call (``pooled(_:limited:_:)``).
    func execute<Statement: PostgresPreparedStatement>(_ operation: String, _ statement: Statement) async throws -> [Statement.Row] where Statement.Row: Sendable {
        let logger = logger
        return try await pooled(operation) { connection in
            try await connection.executeIfOpen(statement, logger: logger)
        }
    }

    /// The first call connects once directly (outside the pool, whose retries would hide the
    /// reason) with a deadline, so a wrong password, an unknown database or an unreachable server
    /// fails fast with the server's reason.
    func ensureReachable(_ operation: String) async throws {
        if reachable.withLock({ $0 }) { return }
        await poolStarted.wait()
        do {
            try await probe()
        } catch {
            throw PostgresErrors.wrap(error, configuration: configuration, operation: operation)
        }
        reachable.withLock { $0 = true }
    }

    private func probe() async throws {
        let established = try await connectDirectly(startupParameters: [("application_name", "surety")])
        try? await established.close()
    }

    /// Opens one connection outside the pool, failing within ``Configuration/connectTimeout``
    /// (connect, TLS and authentication together) with the server's reason.
    func connectDirectly(startupParameters: [(String, String)]) async throws -> PostgresConnection {
        var connection = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: try Self.connectionTLS(configuration.tls)
        )
        let timeout = configuration.connectTimeout
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        connection.options.connectTimeout = .nanoseconds(nanoseconds)
        connection.options.additionalStartupParameters = startupParameters
        let eventLoop = PostgresClient.defaultEventLoopGroup.any()
        let promise = eventLoop.makePromise(of: PostgresConnection.self)
        let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            promise.fail(PostgresErrors.ConnectTimeout(duration: timeout))
        }
        let logger = logger
        PostgresConnection.connect(on: eventLoop, configuration: connection, id: 0, logger: logger).whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let connection):
                promise.futureResult.whenFailure { _ in
                    let closed: EventLoopFuture<Void> = connection.close()
                    _ = closed
                }
                promise.succeed(connection)
            case .failure(let error):
                promise.fail(error)
            }
        }
        return try await promise.futureResult.get()
    }

    private static func clientTLS(_ mode: Configuration.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .require: return .require(.makeClientConfiguration())
        }
    }

    private static func connectionTLS(_ mode: Configuration.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

/// A one-way gate: ``wait()`` returns once ``open()`` was called (at once after that), or when
/// the waiting task is cancelled.
final class StartGate: Sendable {
    private struct State {
        var open = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let key = state.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[key] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: key) }?.resume()
        }
    }
}

extension PostgresRowSequence {
    /// Collects the decoded rows.
    func collect<T>(_ decode: (PostgresRandomAccessRow) throws -> T) async throws -> [T] {
        var values: [T] = []
        for try await row in self { values.append(try decode(row.makeRandomAccess())) }
        return values
    }
}
