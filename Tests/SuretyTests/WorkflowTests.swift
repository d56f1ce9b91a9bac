import Foundation
import Surety
import SuretyTesting
import Testing

/// What a step hands on: its name and the parents whose results it read.
struct StepOutput: Codable, Sendable, Equatable {
    var step: String
    var parents: [String]
}

/// A workflow step for tests: counts its runs, fails as told, reads its parents' results and
/// sets its own.
struct WorkflowStepJob: Job {
    static let name = "test.workflow-step"
    static let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(2)))
    var step: String
    /// Transient failures before it succeeds.
    var failures = 0
    var permanent = false
    var hang = false
    /// A compensation: reads this step's result.
    var inspects: String?

    func run(_ context: JobContext) async throws {
        let counter = try context.dependency(Counter.self)
        let run = counter.increment(step)
        counter.increment("\(step) in \(context.workflowID.map { "\($0)" } ?? "-"):\(context.workflowStepName ?? "-")")
        if permanent { throw PermanentFailure("step \(step) cannot work") }
        if hang { try await context.clock.sleep(for: .seconds(1_000_000)) }
        if run <= failures { throw ProviderDown(detail: "step \(step) attempt \(run)") }
        if let inspects, let seen = try await context.stepResult(inspects, as: StepOutput.self) {
            counter.increment("\(step) saw \(seen.step)")
        }
        let parents = try await context.parentResults()
        try await context.setStepResult(StepOutput(step: step, parents: parents.keys.sorted()))
    }
}

/// A store with the runtime contract only: it keeps no workflows.
private struct WorkflowlessStore: ForwardingRuntimeStore {
    let base = MemoryStore()
}

@Suite("Workflows on the memory store, through a real worker with an injected clock")
struct WorkflowTests {
    let acme = try! TenantID("acme")

    func report(failing: WorkflowStepJob? = nil) throws -> Workflow {
        var workflow = try Workflow("monthly-report")
        try workflow.step("generate", WorkflowStepJob(step: "generate"))
        try workflow.step("thumbs", failing ?? WorkflowStepJob(step: "thumbs"), after: ["generate"])
        try workflow.step("charts", WorkflowStepJob(step: "charts"), after: ["generate"])
        try workflow.step("upload", WorkflowStepJob(step: "upload"), after: ["thumbs", "charts"])
        try workflow.step("notify", WorkflowStepJob(step: "notify"), after: ["upload"])
        try workflow.compensation("cleanup", WorkflowStepJob(step: "cleanup", inspects: "generate"))
        return workflow
    }

    /// Advances the injected clock a second at a time until the workflow and all its steps ended.
    func settle(_ h: Harness, _ id: WorkflowID) async throws -> WorkflowRecord {
        let store = try #require(h.store as? any WorkflowStore)
        try await eventually("workflow \(id) ends", timeout: .seconds(120)) {
            h.clock.advance(by: .seconds(1))
            guard let workflow = try await store.workflow(id) else { return false }
            return workflow.state.isTerminal && workflow.steps.allSatisfy(\.state.isTerminal)
        }
        return try #require(try await store.workflow(id))
    }

    @Test("a failed step retries alone: completed steps never rerun, results reach the fan-in step")
    func failedStepRetriesAlone() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        let workflow = try report(failing: WorkflowStepJob(step: "thumbs", failures: 1))
        let id = try await h.queue.enqueue(workflow, tenant: acme, uniqueKey: "report-u1").id
        let done = try await h.running([h.worker()]) { try await settle(h, id) }
        #expect(done.state == .completed)
        #expect(h.counter.value("thumbs") == 2, "the failed step ran again")
        for step in ["generate", "charts", "upload", "notify"] { #expect(h.counter.value(step) == 1, "\(step) ran once") }
        #expect(h.counter.value("cleanup") == 0, "no compensation when nothing failed")
        #expect(done.step("cleanup")?.state == .skipped)
        let upload = try JSONDecoder().decode(StepOutput.self, from: Data(try #require(done.step("upload")?.result).utf8))
        #expect(upload == StepOutput(step: "upload", parents: ["charts", "thumbs"]), "the fan-in step read both parents' results")
        let thumbs = try #require(done.step("thumbs")?.jobID)
        #expect(try await h.store.attempts(of: thumbs).map(\.outcome) == [.failed, .succeeded])
        let job = try #require(try await h.store.job(thumbs))
        #expect(job.tenant == acme && job.correlation["workflow_id"] == "\(id)" && job.correlation["workflow_step"] == "thumbs")
        for step in ["generate", "thumbs", "charts", "upload", "notify"] {
            #expect(h.counter.value("\(step) in \(id):\(step)") >= 1, "\(step)'s context named its workflow and step")
        }
    }

    @Test("JobQueue reads one workflow and lists them newest first, paging by beforeID")
    func readsAndPages() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        var ids: [WorkflowID] = []
        for _ in 0..<5 { ids.append(try await h.queue.enqueue(try report(), tenant: acme).id) }
        let one = try #require(try await h.queue.workflow(ids[2]))
        #expect(one.id == ids[2] && one.name == "monthly-report" && one.steps.count == 6)
        #expect(try await h.queue.workflow(WorkflowID(999)) == nil)
        var filter = WorkflowFilter(tenants: [acme], limit: 2)
        var seen: [WorkflowID] = []
        while true {
            let page = try await h.queue.workflows(filter)
            seen += page.map(\.id)
            guard page.count == filter.limit, let last = page.last else { break }
            filter.beforeID = last.id
        }
        #expect(seen == ids.reversed(), "every workflow once, newest first")
        await #expect(throws: SuretyError.self) { try await h.queue.workflows(WorkflowFilter(limit: -1)) }
        await #expect(throws: SuretyError.self) { try await JobQueue(store: WorkflowlessStore()).workflows() }
    }

    @Test("a batch of workflows is enqueued in one call: one answer each, in order, with unique keys held inside the batch")
    func enqueuesABatch() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        let store = try #require(h.store as? any WorkflowStore)
        var keyed = try report()
        keyed.uniqueKey = "report:u-1"
        var again = try Workflow("monthly-report", uniqueKey: "report:u-1")
        try again.step("generate", WorkflowStepJob(step: "generate"))
        let batch = try await h.queue.enqueue([keyed, try report(), again], tenant: acme)
        #expect(batch.map(\.inserted) == [true, true, false])
        #expect(batch[2].id == batch[0].id, "the key taken earlier in the batch returns that workflow")
        #expect(try await store.workflow(batch[0].id)?.uniqueKey == "report:u-1")
        let single = try await h.queue.enqueue(try report(), tenant: acme, uniqueKey: "report:u-1")
        #expect(!single.inserted && single.id == batch[0].id, "the key held by a running workflow of the batch")
        #expect(try await h.queue.enqueue([Workflow](), tenant: acme).isEmpty)

        // A refused workflow refuses the batch before anything is written.
        var onlyCompensation = try Workflow("empty")
        try onlyCompensation.compensation("undo", WorkflowStepJob(step: "undo"))
        let before = try await h.queue.workflows(WorkflowFilter(limit: 100)).count
        await #expect(throws: SuretyError.self) { try await h.queue.enqueue([try report(), onlyCompensation], tenant: acme) }
        let badKey = try Workflow("bad-key", uniqueKey: "")
        await #expect(throws: SuretyError.self) { try await h.queue.enqueue([try report(), badKey], tenant: acme) }
        #expect(try await h.queue.workflows(WorkflowFilter(limit: 100)).count == before)
    }

    @Test("a dead step stops its dependants and runs the compensation, which reads completed results")
    func deadStepRunsCompensation() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        let workflow = try report(failing: WorkflowStepJob(step: "thumbs", permanent: true))
        let id = try await h.queue.enqueue(workflow, tenant: acme).id
        let failed = try await h.running([h.worker()]) { try await settle(h, id) }
        #expect(failed.state == .failed && failed.note == "step 'thumbs' failed")
        #expect(failed.step("thumbs")?.state == .failed && failed.step("thumbs")?.jobState == .dead)
        #expect(failed.step("upload")?.state == .blocked && failed.step("notify")?.state == .blocked)
        #expect(failed.step("upload")?.jobID == nil, "a blocked step never gets a job")
        #expect(h.counter.value("upload") == 0 && h.counter.value("notify") == 0)
        #expect(h.counter.value("thumbs") == 1, "a permanent failure is not retried")
        #expect(failed.step("cleanup")?.state == .completed && h.counter.value("cleanup") == 1)
        #expect(h.counter.value("cleanup saw generate") == 1, "the compensation read the completed step's result")
    }

    @Test("cancelling a workflow cancels its running step cooperatively and its waiting steps at once")
    func cancelWorkflow() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        var workflow = try Workflow("hanging")
        try workflow.step("slow", WorkflowStepJob(step: "slow", hang: true))
        try workflow.step("after", WorkflowStepJob(step: "after"), after: ["slow"])
        try workflow.compensation("undo", WorkflowStepJob(step: "undo"))
        let id = try await h.queue.enqueue(workflow, tenant: acme).id
        let store = try #require(h.store as? any WorkflowStore)
        let slowJob = try #require(try await store.workflow(id)?.step("slow")?.jobID)
        let ended = try await h.running([h.worker(lease: .seconds(9), heartbeat: .seconds(3))]) {
            try await h.events.first { $0.started(slowJob, attempt: 1) }
            let result = try await h.queue.cancelWorkflow(id, by: "ops@example.com", reason: "customer left")
            #expect(result.cancelled && result.jobs.requested == [slowJob])
            try await h.advance(by: .seconds(3)) { $0.finished(slowJob) != nil }
            return try await settle(h, id)
        }
        #expect(ended.state == .cancelled && ended.note == "cancelled by ops@example.com: customer left")
        #expect(ended.step("slow")?.state == .cancelled && ended.step("after")?.state == .cancelled && ended.step("undo")?.state == .skipped)
        #expect(h.counter.value("after") == 0 && h.counter.value("undo") == 0)
        #expect(try await h.store.attempts(of: slowJob).map(\.outcome) == [.cancelled])
        let again = try await h.queue.cancelWorkflow(id, by: "ops", reason: "again")
        #expect(!again.cancelled)
        await #expect(throws: SuretyError.self) { try await h.queue.cancelWorkflow(WorkflowID(99), by: "ops", reason: "x") }
    }

    @Test("a unique key returns the running workflow; bad declarations are refused with clear errors")
    func keysAndValidation() async throws {
        let h = Harness(extraTypes: [WorkflowStepJob.self])
        let first = try await h.queue.enqueue(try report(), tenant: acme, uniqueKey: "k")
        let second = try await h.queue.enqueue(try report(), tenant: acme, uniqueKey: "k")
        #expect(first.inserted && !second.inserted && second.id == first.id)

        var workflow = try Workflow("bad")
        try workflow.step("a", WorkflowStepJob(step: "a"))
        #expect(throws: SuretyError.self) { try workflow.step("a", WorkflowStepJob(step: "a")) }
        #expect(throws: SuretyError.self) { try workflow.step("b", WorkflowStepJob(step: "b"), after: ["missing"]) }
        #expect(throws: SuretyError.self) { try workflow.step("c", WorkflowStepJob(step: "c"), after: ["a", "a"]) }
        #expect(throws: SuretyError.self) { try Workflow("") }
        try workflow.compensation("undo", WorkflowStepJob(step: "undo"))
        #expect(throws: SuretyError.self) { try workflow.step("d", WorkflowStepJob(step: "d"), after: ["undo"]) }
        var onlyCompensation = try Workflow("empty")
        try onlyCompensation.compensation("undo", WorkflowStepJob(step: "undo"))
        await #expect(throws: SuretyError.self) { try await h.queue.enqueue(onlyCompensation, tenant: acme) }
        #expect(workflow.stepNames == ["a", "undo"])
    }

    @Test("the transition is pure: two parents ending in one event release their child once")
    func pureTransition() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let template = WorkflowJobTemplate(NewJob(type: "t", queue: "q", priority: 0, tenant: acme, payload: "{}", runAt: t0, enqueuedAt: t0, maxAttempts: 1))
        let new = NewWorkflow(name: "w", tenant: acme, createdAt: t0, steps: [
            .init(name: "l", parents: [], isCompensation: false, template: template),
            .init(name: "r", parents: [], isCompensation: false, template: template),
            .init(name: "j", parents: ["l", "r"], isCompensation: false, template: template),
        ])
        var started = WorkflowTransition.start(new.record(id: WorkflowID(1)), at: t0)
        #expect(started.released == ["l", "r"])
        started.workflow.steps[0].jobID = JobID(1)
        started.workflow.steps[1].jobID = JobID(2)
        func ended(_ state: JobState, at seconds: Double? = nil) -> WorkflowTransition.EndedJob {
            WorkflowTransition.EndedJob(state: state, finishedAt: seconds.map { t0.addingTimeInterval($0) })
        }
        let both = WorkflowTransition.stepJobsEnded(started.workflow, [JobID(1): ended(.completed), JobID(2): ended(.completed)], at: t0)
        #expect(both.released == ["j"])
        let one = WorkflowTransition.stepJobsEnded(started.workflow, [JobID(1): ended(.completed)], at: t0)
        #expect(one.released.isEmpty)
        let retrying = WorkflowTransition.stepJobsEnded(started.workflow, [JobID(1): ended(.retrying)], at: t0)
        #expect(retrying.changedSteps.isEmpty && !retrying.workflowChanged)

        // Times: each step ends when its job did; the child is released no earlier than its last
        // parent ended, even when the event's own time is earlier (a finish serialised late).
        let left = WorkflowTransition.stepJobsEnded(started.workflow, [JobID(1): ended(.completed, at: 5)], at: t0.addingTimeInterval(5))
        #expect(left.workflow.step("l")?.finishedAt == t0.addingTimeInterval(5))
        let right = WorkflowTransition.stepJobsEnded(left.workflow, [JobID(2): ended(.completed, at: 3)], at: t0.addingTimeInterval(3))
        #expect(right.released == ["j"] && right.time == t0.addingTimeInterval(5))
        #expect(right.workflow.step("r")?.finishedAt == t0.addingTimeInterval(3))
        #expect(right.newJob(forReleased: "j")?.enqueuedAt == t0.addingTimeInterval(5) && right.newJob(forReleased: "j")?.runAt == t0.addingTimeInterval(5))
    }
}
