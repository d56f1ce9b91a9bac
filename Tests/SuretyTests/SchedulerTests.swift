import Foundation
import Surety
import SuretyTesting
import Testing

@Suite("Scheduler policies on the memory store with an injected clock")
struct SchedulerTests {
    let acme = try! TenantID("acme")
    /// 2027-01-15T10:00:00Z, a whole hour.
    static let start = Date(timeIntervalSince1970: 1_800_007_200)

    func hourly(_ name: String = "sync", overlap: OverlapPolicy = .skip, missed: MissedRunPolicy = .runLatest) throws -> Schedule {
        try Schedule(name: name, cron: "0 * * * *", job: SucceedingJob(note: "tick"), tenant: acme, overlap: overlap, missed: missed)
    }

    func jobs(_ store: MemoryStore, tag: String = "schedule:sync") async throws -> [JobRecord] {
        try await store.jobs(JobFilter(tag: tag, limit: 1000)).sorted { $0.id < $1.id }
    }

    func complete(_ store: MemoryStore, clock: TestClock) async throws {
        let now = clock.now()
        for job in try await store.claim(ClaimRequest(queues: ["default"], limit: 100, worker: "w", now: now, leaseUntil: now.addingTimeInterval(60))) {
            _ = try await store.finish([AttemptFinish(lease: job.lease, attempt: job.attempt, worker: "w", startedAt: now, endedAt: now, outcome: .succeeded, next: .completed)])
        }
    }

    @Test("each slot is enqueued once, with a forever unique key of name and slot, even by two schedulers")
    func oneJobPerSlot() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start.addingTimeInterval(-10))
        let a = try Scheduler(store: store, schedules: [try hourly(overlap: .allow)], clock: clock)
        let b = try Scheduler(store: store, schedules: [try hourly(overlap: .allow)], clock: clock)
        try await a.register()
        try await b.register()
        #expect(try await a.tick().isEmpty, "no slot is due before 10:00")
        clock.advance(by: .seconds(10))
        async let first = a.tick()
        async let second = b.tick()
        let decisions = try await first + second
        let stored = try await jobs(store)
        #expect(stored.count == 1)
        #expect(stored[0].uniqueKey == "schedule:sync@2027-01-15T10:00:00Z" && stored[0].uniqueScope == .forever)
        #expect(stored[0].runAt == Self.start && stored[0].correlation["schedule"] == "sync")
        #expect(decisions.count <= 2 && decisions.allSatisfy { $0.slot == Self.start })
        let againA = try await a.tick(), againB = try await b.tick()
        #expect(againA.isEmpty && againB.isEmpty, "a decided slot is not decided again")
        let record = try #require(try await store.schedules().first)
        #expect(record.lastSlot == Self.start && record.lastJobID == stored[0].id)
    }

    @Test("overlap skip: a slot is skipped while the previous slot's job is active")
    func overlapSkip() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start)
        let scheduler = try Scheduler(store: store, schedules: [try hourly()], clock: clock)
        try await scheduler.register()
        clock.advance(by: .seconds(3600))
        let first = try await scheduler.tick()
        guard case .enqueued(let id)? = first.first?.outcome else { Issue.record("expected an enqueue, got \(first)"); return }
        clock.advance(by: .seconds(3600))
        let second = try await scheduler.tick()
        #expect(second.map(\.outcome) == [.skippedOverlap(id)])
        try await complete(store, clock: clock)
        clock.advance(by: .seconds(3600))
        let third = try await scheduler.tick()
        #expect(third.count == 1 && { if case .enqueued = third[0].outcome { true } else { false } }())
        #expect(try await jobs(store).count == 2)
    }

    @Test("overlap queue one: one job may wait behind a running one; a third is skipped")
    func overlapQueueOne() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start)
        let scheduler = try Scheduler(store: store, schedules: [try hourly(overlap: .queueOne)], clock: clock)
        try await scheduler.register()
        clock.advance(by: .seconds(3600))
        try await scheduler.tick()
        let now = clock.now()
        _ = try await store.claim(ClaimRequest(queues: ["default"], limit: 1, worker: "w", now: now, leaseUntil: now.addingTimeInterval(7200)))
        clock.advance(by: .seconds(3600))
        let second = try await scheduler.tick()
        #expect({ if case .enqueued = second.first?.outcome { true } else { false } }(), "\(second)")
        clock.advance(by: .seconds(3600))
        let third = try await scheduler.tick()
        #expect({ if case .skippedOverlap = third.first?.outcome { true } else { false } }(), "\(third)")
        #expect(try await jobs(store).map(\.state) == [.running, .available])
    }

    @Test("overlap allow: every slot is enqueued")
    func overlapAllow() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start)
        let scheduler = try Scheduler(store: store, schedules: [try hourly(overlap: .allow)], clock: clock)
        try await scheduler.register()
        for _ in 0..<3 {
            clock.advance(by: .seconds(3600))
            try await scheduler.tick()
        }
        #expect(try await jobs(store).count == 3)
    }

    @Test("missed runs after five hours down", arguments: [
        (MissedRunPolicy.skip, 0), (.runLatest, 1), (.catchUp(within: .seconds(3 * 3600)), 3),
    ])
    func missedRuns(policy: MissedRunPolicy, expected: Int) async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start.addingTimeInterval(60))
        let scheduler = try Scheduler(store: store, schedules: [try hourly(overlap: .allow, missed: policy)], clock: clock)
        try await scheduler.register()
        clock.advance(by: .seconds(5 * 3600 - 30)) // 15:00:30, slots 11:00 to 15:00 are due
        let decisions = try await scheduler.tick()
        let stored = try await jobs(store)
        #expect(!decisions.isEmpty && decisions.last?.slot == Self.start.addingTimeInterval(5 * 3600), "the latest due slot is decided: \(decisions)")
        switch policy {
        case .skip:
            // 15:00 is 30 s old: within the 60 s lateness, so it is on time.
            #expect(stored.count == 1 && stored[0].runAt == Self.start.addingTimeInterval(5 * 3600))
        case .runLatest:
            #expect(stored.count == 1 && stored[0].runAt == Self.start.addingTimeInterval(5 * 3600))
        case .catchUp:
            #expect(stored.count == expected)
            #expect(stored.map(\.runAt) == [3, 4, 5].map { Self.start.addingTimeInterval(TimeInterval($0 * 3600)) })
        }
        #expect(try await scheduler.tick().isEmpty, "nothing is decided twice")
    }

    @Test("missed skip drops a slot seen later than the lateness")
    func missedSkipDrops() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start.addingTimeInterval(60))
        let scheduler = try Scheduler(store: store, schedules: [try hourly(missed: .skip)], clock: clock)
        try await scheduler.register()
        clock.advance(by: .seconds(3600 + 120)) // 11:03, the 11:00 slot is 3 min late
        let decisions = try await scheduler.tick()
        #expect(decisions.map(\.outcome) == [.skippedMissed])
        #expect(try await jobs(store).isEmpty)
    }

    @Test("pause and resume: paused slots are not run, not even on resume")
    func pauseResume() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start)
        let scheduler = try Scheduler(store: store, schedules: [try hourly(overlap: .allow)], clock: clock)
        try await scheduler.register()
        let paused = try await store.setSchedulePaused("sync", paused: true, action: OperatorAction(actor: "ops", reason: "provider outage", at: clock.now()))
        #expect(paused?.paused == true)
        clock.advance(by: .seconds(2 * 3600))
        let whilePaused = try await scheduler.tick()
        #expect(!whilePaused.isEmpty && whilePaused.allSatisfy { $0.outcome == .paused }, "\(whilePaused)")
        _ = try await store.setSchedulePaused("sync", paused: false, action: OperatorAction(actor: "ops", reason: "fixed", at: clock.now()))
        #expect(try await scheduler.tick().isEmpty, "resume does not run the paused slots")
        clock.advance(by: .seconds(3600))
        #expect(try await scheduler.tick().count == 1)
        #expect(try await jobs(store).count == 1)
    }

    @Test("the scheduler service ticks on the injected clock under maintenance leadership")
    func service() async throws {
        let store = MemoryStore(), clock = TestClock(now: Self.start.addingTimeInterval(-2))
        let scheduler = try Scheduler(store: store, schedules: [try hourly()], tickInterval: .seconds(1), clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await scheduler.run() }
            for _ in 0..<4 {
                await clock.waitForSleepers(1)
                clock.advance(by: .seconds(1))
            }
            try await eventually("the 10:00 slot is enqueued") { try await jobs(store).count == 1 }
            group.cancelAll()
        }
    }

    @Test("bad schedules are refused with clear errors")
    func badInput() throws {
        #expect(throws: SuretyError.self) { try Schedule(name: "a b", cron: "* * * * *", job: SucceedingJob(note: ""), tenant: acme) }
        #expect(throws: SuretyError.self) { try Schedule(name: "x", cron: "* * * * *", timeZone: "Mars/Olympus", job: SucceedingJob(note: ""), tenant: acme) }
        #expect(throws: SuretyError.self) { try Scheduler(store: MemoryStore(), schedules: [try hourly(), try hourly()]) }
        #expect(MissedRunPolicy(rawValue: "catch_up:600") == .catchUp(within: .seconds(600)))
        #expect(OverlapPolicy(rawValue: "queue_one") == .queueOne)
    }
}
