import Foundation
import PostgresNIO
import Surety

/// LISTEN/NOTIFY: an enqueue, a requeue or a finish that makes a job due at once sends
/// `pg_notify('surety_jobs_available', <schema>)` inside its transaction (PostgreSQL delivers it
/// on commit); every store listening on the same database wakes its in-process subscribers.
extension PostgresStore {
    /// The statement that notifies other processes; run it inside the transaction that made jobs
    /// claimable.
    var notifyQuery: PostgresQuery {
        "SELECT pg_notify(\(Self.channel), \(configuration.schema))"
    }

    /// From the first wake-up subscriber on (``availabilitySignals()``, ``waitUntilListening()``),
    /// holds one pooled connection in LISTEN while the store runs, and signals subscribers for
    /// each notification about this store's schema. Reconnects after errors with a short backoff;
    /// ends when the task is cancelled.
    func listenLoop() async {
        let schema = configuration.schema
        var backoff: Duration = .milliseconds(100)
        var wasListening = false
        await listenWanted.wait()
        await poolStarted.wait()
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        // Anything sent while we were not listening was missed: wake up once.
                        backoff = .milliseconds(100)
                        if wasListening { self.logger.info("surety: LISTEN connection re-established") }
                        wasListening = true
                        self.setListening(true)
                        defer { self.setListening(false) }
                        self.signal()
                        for try await notification in notifications where notification.payload == schema {
                            self.signal()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                let reason = String(describing: PostgresErrors.wrap(error, configuration: configuration, operation: "listen"))
                if backoff == .milliseconds(100) && wasListening {
                    // The first failure after a working connection: the server went away.
                    logger.warning("surety: LISTEN connection lost; reconnecting with backoff (polling covers the gap)", metadata: ["error": "\(reason)"])
                } else {
                    logger.debug("surety: LISTEN connection failed; retrying", metadata: ["error": "\(reason)", "retry_in": "\(backoff)"])
                }
            }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}

extension PostgresStore {
    /// Whether the LISTEN connection is up, and who waits for it.
    struct ListenState {
        var listening = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    func setListening(_ listening: Bool) {
        let waiters = listenState.withLock { state in
            state.listening = listening
            guard listening else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once this store's LISTEN connection is established (at once if it is), or when the
    /// task is cancelled: from then on, enqueues by other processes on the same schema wake this
    /// store's subscribers. Waits while ``run()`` is not running; bound it with a timeout.
    public func waitUntilListening() async {
        listenWanted.open()
        let key = listenState.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = listenState.withLock { state in
                    if state.listening || Task.isCancelled { return true }
                    state.waiters[key] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = listenState.withLock { $0.waiters.removeValue(forKey: key) }
            waiter?.resume()
        }
    }
}
