import Foundation

/// What a worker knows about its attempts, as one value: which attempts it holds and under which
/// lease, how many of them are finishing (their body ended, their outcome is being written), until
/// when each lease is surely held, each attempt's timeout, whether the worker is draining, and the
/// deadline its timeout watcher sleeps to.
///
/// Written as events in, actions out (in the manner of swift-nio's `CloseRatchet` and
/// postgres-nio's `PoolStateMachine`): each `mutating` function is one event, and returns what
/// the caller must do: attempts to stop, loops to wake, a body that must not start. It does no
/// I/O, takes no lock and resumes nothing; ``SharedWorkerState`` keeps it under the worker's one
/// lock and carries the actions out after releasing it.
struct WorkerState: Sendable {
    /// One attempt the worker holds, from its claim until its outcome is durable (or refused).
    struct Attempt: Sendable {
        var lease: Lease
        /// How the attempt's body is stopped early (timeout, lost lease, shutdown, cancel request).
        var control: AttemptControl
        /// When the attempt times out; set when it starts.
        var deadline: Date?
        /// Until when the lease is surely held, on this worker's clock: the time the claim or the
        /// last successful heartbeat was *sent*, plus the lease duration (the store computed the
        /// lease's end later than that, so it ends no earlier). Past this minus the margin the
        /// attempt is stopped (``AttemptControl/Stop/leaseNotRenewed``).
        var leaseSurelyHeldUntil: Date
        /// The body ended; the outcome is being written.
        var finishing = false

        /// When the attempt is stopped if its lease is not renewed by then: `margin` before the
        /// lease can end.
        func leaseStop(margin: Duration) -> Date { leaseSurelyHeldUntil.adding(.zero - margin) }
    }

    /// An attempt to stop, and why. Carried out outside the lock (``AttemptControl/stop(_:)``):
    /// a control belongs to one attempt, so stopping one that ended meanwhile does nothing.
    struct StopAction: Sendable {
        var lease: Lease
        var reason: AttemptControl.Stop
        var control: AttemptControl
    }

    /// What to do when an attempt's task starts.
    struct StartAction: Equatable, Sendable {
        /// `false` when the claim was answered so late that its lease is within the margin of its
        /// end: the body must not start (the attempt is released as a lease not renewed).
        var startBody: Bool
        /// The attempt's first deadline is earlier than the one the timeout watcher sleeps to.
        var wakeTimeoutWatcher: Bool
    }

    /// The next step of the timeout watcher.
    struct DeadlineCheck: Sendable {
        /// Attempts past their timeout, or whose lease was not renewed in time.
        var stops: [StopAction]
        /// The earliest deadline still ahead (`nil`: none; wait for an attempt to start).
        var next: Date?
    }

    /// How many jobs run at once.
    let concurrency: Int
    /// How long before a lease that could not be renewed can expire the attempt is stopped.
    let leaseMargin: Duration

    private(set) var attempts: [JobID: Attempt] = [:]
    /// How many of ``attempts`` are finishing, kept with every change so that free slots are
    /// counted without a scan: the claim loop counts them at every wake-up, that is about once
    /// per job in a busy worker.
    private(set) var finishingCount = 0
    /// The worker stopped claiming (graceful shutdown or cancellation).
    private(set) var isDraining = false
    /// The deadline the timeout watcher sleeps until (`nil`: it waits for a signal).
    private(set) var armedDeadline: Date?

    /// - Parameters:
    ///   - concurrency: how many bodies run at once (at least 1).
    ///   - leaseDuration: the claims' lease; an attempt whose lease was not renewed is stopped a
    ///     sixth of it (5 s of the default 30 s) before it can end, time for the stop and its
    ///     outcome write.
    init(concurrency: Int, leaseDuration: Duration) {
        self.concurrency = concurrency
        self.leaseMargin = leaseDuration / 6
    }

    // MARK: Queries

    /// How many attempts the worker holds (running or finishing).
    var runningCount: Int { attempts.count }

    /// How many jobs the next claim may take. An attempt whose outcome is being written no
    /// longer takes a slot: the next claim overlaps that write (and shares its transaction on
    /// SQLite) instead of waiting for it. Bodies running at once never exceed `concurrency`;
    /// attempts still being recorded are at most another `concurrency`, so a store that writes
    /// outcomes slowly holds the claims back instead of letting them pile up. The store counts
    /// such a job as running until its outcome commits, so queue limits stay exact. O(1).
    var freeSlots: Int {
        min(concurrency - (attempts.count - finishingCount), 2 * concurrency - attempts.count)
    }

    /// The leases to renew: attempts whose outcome is being written too, since a slow or retried
    /// outcome write must not let the lease of a job whose body already ended expire (it would
    /// run again).
    var leasesToRenew: [Lease] { attempts.values.map(\.lease) }

    // MARK: Events

    /// A claim returned `leases` at `claimedAt`, each held until `leaseSurelyHeldUntil`; returns
    /// the control of each new attempt, in order. The same job again (its lease was lost and it
    /// was claimed anew) while the older attempt is still being recorded: the new attempt takes
    /// its entry.
    mutating func claimed(_ leases: [Lease], leaseSurelyHeldUntil: Date) -> [AttemptControl] {
        leases.map { lease in
            if attempts[lease.jobID]?.finishing == true { finishingCount -= 1 }
            let control = AttemptControl()
            attempts[lease.jobID] = Attempt(lease: lease, control: control, leaseSurelyHeldUntil: leaseSurelyHeldUntil)
            return control
        }
    }

    /// The attempt holding `lease` starts at `now` and times out at `deadline`.
    mutating func attemptStarting(_ lease: Lease, deadline: Date, now: Date) -> StartAction {
        guard var attempt = attempts[lease.jobID], attempt.lease == lease else {
            return StartAction(startBody: true, wakeTimeoutWatcher: false)
        }
        attempt.deadline = deadline
        attempts[lease.jobID] = attempt
        let leaseStop = attempt.leaseStop(margin: leaseMargin)
        let first = min(deadline, leaseStop)
        // Under the same lock as the watcher's computation of its next deadline, so a deadline
        // is never missed between that computation and the watcher's sleep.
        let earlier = armedDeadline.map { first < $0 } ?? true
        return StartAction(startBody: leaseStop > now, wakeTimeoutWatcher: earlier)
    }

    /// The body of the attempt holding `lease` ended: its slot is free for the next claim, its
    /// outcome is being written.
    mutating func bodyEnded(_ lease: Lease) {
        guard var attempt = attempts[lease.jobID], attempt.lease == lease, !attempt.finishing else { return }
        attempt.finishing = true
        attempts[lease.jobID] = attempt
        finishingCount += 1
    }

    /// The attempt holding `lease` is over (its outcome durable, refused or given up): forgets it,
    /// unless the same job was claimed again meanwhile (that newer attempt keeps its entry).
    /// Returns whether to wake the claim loop: when this can make a claim larger (the outcomes
    /// being written were the bound, more than `concurrency` of them, or the attempt had not
    /// freed its slot by finishing), and always while draining (the drain counts every end).
    mutating func attemptEnded(_ lease: Lease) -> Bool {
        guard let attempt = attempts[lease.jobID], attempt.lease == lease else { return isDraining }
        let freesMore = !attempt.finishing || finishingCount > concurrency
        if attempt.finishing { finishingCount -= 1 }
        attempts[lease.jobID] = nil
        return freesMore || isDraining
    }

    /// A heartbeat sent with `sent` answered: `lost` are no longer held, `cancelRequests` asked
    /// to stop running jobs, and the others are held until `until`. Returns the attempts to stop:
    /// first the cancel requests (``AttemptControl/Stop/requested(_:)``), then the lost leases
    /// (``AttemptControl/Stop/leaseLost``), each only for an attempt still running under that
    /// lease.
    mutating func heartbeatAnswered(
        sent: [Lease], lost: [Lease], cancelRequests: [CancelRequest], until: Date
    ) -> [StopAction] {
        var stops: [StopAction] = []
        for request in cancelRequests {
            if let control = runningControl(request.lease) {
                stops.append(StopAction(lease: request.lease, reason: .requested(request.note), control: control))
            }
        }
        let lostSet = Set(lost)
        for lease in sent where !lostSet.contains(lease) {
            guard var attempt = attempts[lease.jobID], attempt.lease == lease else { continue }
            attempt.leaseSurelyHeldUntil = until
            attempts[lease.jobID] = attempt
        }
        for lease in lost {
            if let control = runningControl(lease) {
                stops.append(StopAction(lease: lease, reason: .leaseLost, control: control))
            }
        }
        return stops
    }

    /// The timeout watcher woke at `now`: returns the running attempts past their timeout
    /// (``AttemptControl/Stop/timedOut``) or whose lease was not renewed in time
    /// (``AttemptControl/Stop/leaseNotRenewed``, a margin before it can expire), and the earliest
    /// deadline still ahead, which it sleeps to.
    mutating func deadlinesChecked(now: Date) -> DeadlineCheck {
        var stops: [StopAction] = []
        var earliest: Date?
        for attempt in attempts.values where !attempt.finishing {
            let leaseStop = attempt.leaseStop(margin: leaseMargin)
            if leaseStop <= now {
                stops.append(StopAction(lease: attempt.lease, reason: .leaseNotRenewed, control: attempt.control))
                continue
            }
            var deadline = leaseStop
            if let timeout = attempt.deadline {
                if timeout <= now {
                    stops.append(StopAction(lease: attempt.lease, reason: .timedOut, control: attempt.control))
                    continue
                }
                deadline = min(deadline, timeout)
            }
            if earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        }
        armedDeadline = earliest
        return DeadlineCheck(stops: stops, next: earliest)
    }

    /// A graceful shutdown began: no more claims. Returns whether this was the first request.
    mutating func drainBegun() -> Bool {
        defer { isDraining = true }
        return !isDraining
    }

    /// The worker's task was cancelled: no more claims, and every attempt stops as a shutdown.
    mutating func cancelled() -> [StopAction] {
        isDraining = true
        return stopAll(.shutdown)
    }

    /// Every attempt the worker holds, to stop for `reason` (the grace period is over).
    func stopAll(_ reason: AttemptControl.Stop) -> [StopAction] {
        attempts.values.map { StopAction(lease: $0.lease, reason: reason, control: $0.control) }
    }

    /// The control of the attempt holding `lease`, if its body is still running.
    private func runningControl(_ lease: Lease) -> AttemptControl? {
        guard let attempt = attempts[lease.jobID], attempt.lease == lease, !attempt.finishing else { return nil }
        return attempt.control
    }
}
