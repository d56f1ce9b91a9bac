import Foundation
import Surety
import SuretySQLite
import SuretyTesting
import SuretyVapor
import Testing
import VaporTesting

@Suite("Surety in a Vapor app")
struct SuretyVaporTests {
    @Test("req.surety.enqueue carries the request's tenant; without one the request gets a 400 and no job exists")
    func enqueueForTheRequestsTenant() async throws {
        let folder = try TempFolder()
        let store = try SQLiteStore(path: folder.file("jobs.sqlite"))
        try await store.migrate()
        try await withApp { app in
            app.surety.use(store: store, registry: JobRegistry([Greet.self]), tenant: tenantHeader)
            greetRoute(app)
            try await app.testing().test(.POST, "greet", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "ann"))
            }, afterResponse: { res async in
                #expect(res.status == .created)
            })
            try await app.testing().test(.POST, "greet", beforeRequest: { req in
                try req.content.encode(GreetBody(name: "eve"))
            }, afterResponse: { res async in
                #expect(res.status == .badRequest)
            })
        }
        let jobs = try await store.jobs(JobFilter(types: [Greet.name]))
        #expect(jobs.count == 1)
        #expect(jobs.first?.tenant == (try TenantID("acme")))
    }

    @Test("without app.surety.use the enqueue fails with invalid_state (a 500), not a crash")
    func notConfigured() async throws {
        try await withApp { app in
            greetRoute(app)
            try await app.testing().test(.POST, "greet", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "ann"))
            }, afterResponse: { res async in
                #expect(res.status == .internalServerError)
            })
            #expect(throws: SuretyError.self) { try app.surety.queue() }
        }
    }

    @Test("runInProcess: the worker starts with the app, runs the job with the app's dependencies, and asyncShutdown drains a running job")
    func inProcessWorkerDrainsOnShutdown() async throws {
        let folder = try TempFolder()
        let store = try SQLiteStore(path: folder.file("jobs.sqlite"))
        try await store.migrate()
        let greetings = Greetings()
        var dependencies = JobDependencies()
        dependencies.register(greetings)
        try await withServerApp { app in
            app.surety.use(store: store, registry: JobRegistry([Greet.self]), tenant: tenantHeader)
            try app.surety.runInProcess(
                configuration: .init(worker: WorkerConfiguration(pollInterval: .milliseconds(50)), queueDepthInterval: nil),
                dependencies: dependencies
            )
            greetRoute(app)
            try await app.asyncBoot()
            try await app.testing().test(.POST, "greet", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "quick"))
            }, afterResponse: { res async in #expect(res.status == .created) })
            try await eventually("the in-process worker runs the job") { await greetings.names == ["quick"] }
            try await app.testing().test(.POST, "greet", headers: ["X-Tenant": "acme"], beforeRequest: { req in
                try req.content.encode(GreetBody(name: "slow", delayMilliseconds: 700))
            }, afterResponse: { res async in #expect(res.status == .created) })
            try await eventually("the slow job runs") {
                try await store.jobs(JobFilter(states: [.running], types: [Greet.name])).count == 1
            }
            // withApp's asyncShutdown now waits for the slow job.
        }
        #expect(await greetings.names == ["quick", "slow"], "the shutdown drained the running job")
        let completed = try await store.jobs(JobFilter(states: [.completed], types: [Greet.name]))
        #expect(completed.count == 2)
    }

    @Test("runInProcess runs no worker when the app boots for another command (migrate)")
    func noWorkerForOtherCommands() async throws {
        let folder = try TempFolder()
        let store = try SQLiteStore(path: folder.file("jobs.sqlite"))
        try await store.migrate()
        let greetings = Greetings()
        var dependencies = JobDependencies()
        dependencies.register(greetings)
        let app = try await Application.make(Environment(name: "testing", arguments: ["app", "migrate"]))
        do {
            app.surety.use(store: store, registry: JobRegistry([Greet.self]), tenant: tenantHeader)
            try app.surety.runInProcess(
                configuration: .init(worker: WorkerConfiguration(pollInterval: .milliseconds(20)), queueDepthInterval: nil),
                dependencies: dependencies
            )
            try await app.asyncBoot()
            try await app.surety.queue().enqueue(Greet(name: "never"), tenant: TenantID("acme"))
            try await Task.sleep(for: .milliseconds(400))
            #expect(await greetings.names.isEmpty)
            #expect(try await store.jobs(JobFilter(states: [.available], types: [Greet.name])).count == 1)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}
