import Foundation
@testable import Surety
import Testing

/// The worker's state machine as event tables: no store, no tasks, no clock but fixed dates.
@Suite("WorkerState: slots, drain, heartbeats and deadlines as events in, actions out")
struct WorkerStateTests {
    static let t0 = Date(timeIntervalSince1970: 1_000_000)

    static func lease(_ id: Int64, token: Int64 = 1) -> Lease { Lease(jobID: JobID(id), token: token) }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// One step of a slot table: an event, then what the state must show.
    enum SlotEvent {
        case claim([Lease])
        case bodyEnded(Lease)
        /// The attempt is over; `wakes` is whether the claim loop must be woken.
        case ended(Lease, wakes: Bool)
        case drain(first: Bool)
    }

    static func play(_ table: [(SlotEvent, free: Int, running: Int)], concurrency: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        var state = WorkerState(concurrency: concurrency, leaseDuration: .seconds(60))
        for (step, (event, free, running)) in table.enumerated() {
            switch event {
            case .claim(let leases):
                let controls = state.claimed(leases, leaseSurelyHeldUntil: at(60))
                #expect(controls.count == leases.count, "step \(step)", sourceLocation: sourceLocation)
            case .bodyEnded(let lease):
                state.bodyEnded(lease)
            case .ended(let lease, let wakes):
                #expect(state.attemptEnded(lease) == wakes, "step \(step): wake-up", sourceLocation: sourceLocation)
            case .drain(let first):
                #expect(state.drainBegun() == first, "step \(step): first drain request", sourceLocation: sourceLocation)
            }
            #expect(state.freeSlots == free, "step \(step): free slots", sourceLocation: sourceLocation)
            #expect(state.runningCount == running, "step \(step): attempts held", sourceLocation: sourceLocation)
        }
    }

    @Test("free slots: a finished body frees its slot; outcomes in flight are bounded by concurrency")
    func slots() {
        let (a, b, c, d) = (Self.lease(1), Self.lease(2), Self.lease(3), Self.lease(4))
        Self.play([
            (.claim([a, b]), free: 0, running: 2),
            (.bodyEnded(a), free: 1, running: 2),
            (.bodyEnded(a), free: 1, running: 2),  // twice: counted once
            (.claim([c]), free: 0, running: 3),
            (.bodyEnded(b), free: 1, running: 3),
            (.bodyEnded(c), free: 1, running: 3),  // 3 outcomes in flight: the bound of 2 × 2 holds the claim to 1
            (.claim([d]), free: 0, running: 4),
            (.bodyEnded(d), free: 0, running: 4),  // 4 outcomes in flight: no slot until one is recorded
            (.ended(a, wakes: true), free: 1, running: 3),  // lifts the bound: wake the claim loop
            (.ended(b, wakes: true), free: 2, running: 2),
            (.ended(c, wakes: false), free: 2, running: 1),  // its slot was freed when its body ended
            (.ended(d, wakes: false), free: 2, running: 0),
        ], concurrency: 2)
    }

    @Test("an attempt that ends without finishing (completed in the application's transaction) wakes the claim loop")
    func endWithoutFinishing() {
        let a = Self.lease(1)
        Self.play([
            (.claim([a]), free: 0, running: 1),
            (.ended(a, wakes: true), free: 1, running: 0),
            (.ended(a, wakes: false), free: 1, running: 0),  // already gone
        ], concurrency: 1)
    }

    @Test("the same job claimed again while its older attempt is recorded: the new attempt takes the entry")
    func reclaimedJob() {
        let old = Self.lease(1, token: 1)
        let new = Self.lease(1, token: 2)
        Self.play([
            (.claim([old]), free: 1, running: 1),
            (.bodyEnded(old), free: 2, running: 1),
            (.claim([new]), free: 1, running: 1),  // the finishing count dropped with the old entry
            (.bodyEnded(old), free: 1, running: 1),  // a stale lease changes nothing
            (.ended(old, wakes: false), free: 1, running: 1),
            (.ended(new, wakes: true), free: 2, running: 0),
        ], concurrency: 2)
    }

    @Test("draining: the first request counts, and every end wakes the drain")
    func draining() {
        let (a, b) = (Self.lease(1), Self.lease(2))
        Self.play([
            (.claim([a, b]), free: 0, running: 2),
            (.drain(first: true), free: 0, running: 2),
            (.drain(first: false), free: 0, running: 2),
            (.bodyEnded(a), free: 1, running: 2),
            (.ended(a, wakes: true), free: 1, running: 1),
            (.ended(Self.lease(9), wakes: true), free: 1, running: 1),  // unknown, but draining
            (.bodyEnded(b), free: 2, running: 1),
            (.ended(b, wakes: true), free: 2, running: 0),
        ], concurrency: 2)
    }

    @Test("cancellation drains and stops every attempt as a shutdown; the grace period's end does the same")
    func cancellation() {
        var state = WorkerState(concurrency: 4, leaseDuration: .seconds(60))
        let controls = state.claimed([Self.lease(1), Self.lease(2)], leaseSurelyHeldUntil: Self.at(60))
        state.bodyEnded(Self.lease(2))
        #expect(state.stopAll(.shutdown).map(\.reason) == [.shutdown, .shutdown])
        #expect(!state.isDraining)
        let stops = state.cancelled()
        #expect(state.isDraining)
        #expect(Set(stops.map(\.lease)) == [Self.lease(1), Self.lease(2)])
        #expect(stops.allSatisfy { $0.reason == .shutdown })
        #expect(Set(stops.map { ObjectIdentifier($0.control) }) == Set(controls.map(ObjectIdentifier.init)))
    }

    @Test("starting an attempt: wakes the timeout watcher only for an earlier deadline; a claim answered within the margin does not start")
    func starting() {
        // Lease 60 s: the margin is 10 s, so a lease surely held until t0+60 stops at t0+50.
        var state = WorkerState(concurrency: 4, leaseDuration: .seconds(60))
        let (a, b, c, late) = (Self.lease(1), Self.lease(2), Self.lease(3), Self.lease(4))
        _ = state.claimed([a, b, c, late], leaseSurelyHeldUntil: Self.at(60))
        let table: [(Lease, deadline: Double, now: Double, StartAction: WorkerState.StartAction, armed: Double?)] = [
            (a, deadline: 30, now: 0, StartAction: .init(startBody: true, wakeTimeoutWatcher: true), armed: 30),  // nothing armed yet
            (b, deadline: 40, now: 0, StartAction: .init(startBody: true, wakeTimeoutWatcher: false), armed: 30),
            (c, deadline: 20, now: 0, StartAction: .init(startBody: true, wakeTimeoutWatcher: true), armed: 20),
            (late, deadline: 100, now: 50, StartAction: .init(startBody: false, wakeTimeoutWatcher: false), armed: nil),
        ]
        for (lease, deadline, now, expected, armed) in table {
            #expect(state.attemptStarting(lease, deadline: Self.at(deadline), now: Self.at(now)) == expected, "job \(lease.jobID)")
            let next = state.deadlinesChecked(now: Self.at(now)).next
            if let armed {
                #expect(next == Self.at(armed), "job \(lease.jobID)")
                #expect(state.armedDeadline == next)
            }
        }
        // An attempt unknown under that lease (claimed anew meanwhile) starts and wakes nothing.
        #expect(state.attemptStarting(Self.lease(1, token: 7), deadline: Self.at(1), now: Self.at(0)) == .init(startBody: true, wakeTimeoutWatcher: false))
    }

    @Test("deadlines: timeouts and unrenewed leases stop running attempts; finishing ones are left alone")
    func deadlines() {
        var state = WorkerState(concurrency: 4, leaseDuration: .seconds(60))
        let (a, b, c) = (Self.lease(1), Self.lease(2), Self.lease(3))
        _ = state.claimed([a, b, c], leaseSurelyHeldUntil: Self.at(60))
        _ = state.attemptStarting(a, deadline: Self.at(10), now: Self.at(0))
        _ = state.attemptStarting(b, deadline: Self.at(3_600), now: Self.at(0))
        _ = state.attemptStarting(c, deadline: Self.at(5), now: Self.at(0))
        state.bodyEnded(c)
        let table: [(now: Double, stops: [Lease: AttemptControl.Stop], next: Double?)] = [
            (now: 0, stops: [:], next: 10),  // c is finishing: its deadline no longer counts
            (now: 10, stops: [a: .timedOut], next: 50),  // b's lease stop: 60 − 10
            (now: 49.9, stops: [a: .timedOut], next: 50),  // a is still running (its body ignores the stop)
            (now: 50, stops: [a: .leaseNotRenewed, b: .leaseNotRenewed], next: nil),  // the lease comes first
        ]
        for (now, stops, next) in table {
            let check = state.deadlinesChecked(now: Self.at(now))
            #expect(Dictionary(uniqueKeysWithValues: check.stops.map { ($0.lease, $0.reason) }) == stops, "at +\(now) s")
            #expect(check.next == next.map(Self.at), "at +\(now) s")
            #expect(state.armedDeadline == check.next)
        }
    }

    @Test("a heartbeat's answer: cancel requests first, then lost leases, for running attempts only; the rest are renewed")
    func heartbeat() {
        var state = WorkerState(concurrency: 8, leaseDuration: .seconds(60))
        let (renewed, lost, cancelled, finishing, both) = (Self.lease(1), Self.lease(2), Self.lease(3), Self.lease(4), Self.lease(5))
        let all = [renewed, lost, cancelled, finishing, both]
        _ = state.claimed(all, leaseSurelyHeldUntil: Self.at(60))
        for lease in all { _ = state.attemptStarting(lease, deadline: Self.at(3_600), now: Self.at(0)) }
        state.bodyEnded(finishing)
        #expect(Set(state.leasesToRenew) == Set(all))  // finishing attempts keep their lease too
        let request = { (lease: Lease) in CancelRequest(lease: lease, actor: "ops", reason: "stop", at: Self.at(20)) }
        let stops = state.heartbeatAnswered(
            sent: all, lost: [lost, finishing, both, Self.lease(9)],
            cancelRequests: [request(cancelled), request(both), request(finishing), request(Self.lease(3, token: 2))],
            until: Self.at(120)
        )
        let note = CancelRequest.note(actor: "ops", reason: "stop")
        #expect(stops.map(\.lease) == [cancelled, both, lost, both])
        #expect(stops.map(\.reason) == [.requested(note), .requested(note), .leaseLost, .leaseLost])
        // Renewed leases stop at 120 − 10; the lost one still stops at 60 − 10.
        let check = state.deadlinesChecked(now: Self.at(50))
        #expect(Set(check.stops.map(\.lease)) == [lost, both])
        #expect(check.next == Self.at(110))
    }
}
