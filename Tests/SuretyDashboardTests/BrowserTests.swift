import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Surety
import SuretyDashboard
import SuretyTesting
import Testing

/// The dashboard in a real headless Chromium, against a real server on 127.0.0.1: sign in, load
/// the overview (screenshot saved to artifacts/), filter jobs, open a dead job, requeue it with a
/// reason, and see it leave the dead-letter inbox. Runs inside `swift test`; under CI=true a
/// missing Chromium fails the test instead of skipping it.
@Suite("Dashboard in a headless browser", .serialized)
struct BrowserTests {
    /// The package's root folder (artifacts/ and docs/images/ live there).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("overview, filter, open a dead job, requeue it with a reason, see it move",
          .enabled(if: BrowserEnvironment.available || BrowserEnvironment.required, "Chromium is not installed (scripts/test installs it as root)"),
          .timeLimit(.minutes(5)))
    func requeueADeadJobInTheBrowser() async throws {
        let fixture = try await Fixture.make(history: 240, seed: 11)
        let dashboard = try fixture.dashboard()
        let artifacts = (Self.root as NSString).appendingPathComponent("artifacts")
        let updateDocs = ProcessInfo.processInfo.environment["SURETY_UPDATE_SCREENSHOTS"] == "1"
        try await withRunningServer(dashboard) { base in
            let driver = try await ChromeDriverProcess(logDirectory: fixture.dir.path)
            defer { driver.stop() }
            let browser = try await WebDriver.start(port: driver.port, width: 1280, height: 1700)
            do {
                // Sign in through the form; the session cookie carries on.
                try await browser.open("\(base)/jobs?state=dead")
                #expect(try await browser.currentURL().contains("/login"))
                try await browser.type(try await browser.find("#login-name"), "browser-test")
                try await browser.type(try await browser.find("#login-token"), Planted.adminToken)
                try await browser.click(try await browser.find("#login-submit"))
                try await eventually("signed in and back on the job list", timeout: .seconds(20)) {
                    try await browser.currentURL().contains("/jobs?state=dead")
                }

                // The overview: one card per queue plus all queues, with server-drawn charts.
                try await browser.open("\(base)/")
                #expect(try await browser.title().hasPrefix("Overview"))
                #expect(try await browser.findAll("section.queue").count == 4)
                #expect(try await browser.findAll("svg.chart rect.ok").count > 10)
                try await browser.screenshot(to: (artifacts as NSString).appendingPathComponent("dashboard-overview.png"))
                if updateDocs { try await browser.screenshot(to: Self.root + "/docs/images/dashboard-overview.png") }

                // Filter the job list with the form: dead demo.email jobs.
                try await browser.open("\(base)/jobs")
                try await browser.click(try await browser.find("#filter-state option[value=dead]"))
                try await browser.type(try await browser.find("#filter-type"), "demo.email")
                try await browser.click(try await browser.find("#filter-submit"))
                try await eventually("the filtered list", timeout: .seconds(20)) {
                    let url = try await browser.currentURL()
                    return url.contains("state=dead") && url.contains("type=demo.email")
                }
                let rows = try await browser.findAll("tr.job-row")
                #expect(!rows.isEmpty)
                for row in rows { #expect(try await browser.attribute(row, "data-state") == "dead") }
                let ids = try await rows.asyncMap { try await browser.attribute($0, "data-id") ?? "" }
                #expect(ids.contains(String(fixture.scriptJob.rawValue)))

                // The dead-letter inbox, for the README.
                try await browser.open("\(base)/dead-letters")
                #expect(try await browser.findAll("section.group").count >= 2)
                try await browser.screenshot(to: (artifacts as NSString).appendingPathComponent("dashboard-dead-letters.png"))
                if updateDocs { try await browser.screenshot(to: Self.root + "/docs/images/dashboard-dead-letters.png") }

                // Open the dead job with HTML in its payload and error: shown as text, never run.
                try await browser.open("\(base)/jobs?state=dead&type=demo.email")
                try await browser.click(try await browser.find("tr.job-row[data-id='\(fixture.scriptJob.rawValue)'] a.job-link"))
                try await eventually("the job page", timeout: .seconds(20)) { try await browser.currentURL().hasSuffix("/jobs/\(fixture.scriptJob.rawValue)") }
                #expect(try await browser.text(try await browser.find("#job-state")) == "dead")
                let payload = try await browser.text(try await browser.find("#payload"))
                #expect(payload.contains("<script>alert('subject')</script>"))
                #expect(payload.contains("[REDACTED]") && !payload.contains(Planted.secret))
                #expect(try await browser.text(try await browser.find("#last-error")).contains("<img src=x onerror=alert(1)>"))
                #expect(try await browser.findAll("#payload script, #payload b, #last-error img, #last-error script").isEmpty)
                if updateDocs { try await browser.screenshot(to: Self.root + "/docs/images/dashboard-job.png") }

                // Requeue it with a reason; it moves to available and out of the inbox.
                try await browser.type(try await browser.find("#requeue-reason"), "provider key rotated; retrying")
                try await browser.click(try await browser.find("#requeue-submit"))
                try await eventually("the job is available", timeout: .seconds(20)) {
                    (try? await browser.text(try await browser.find("#job-state"))) == "available"
                }
                #expect(try await browser.text(try await browser.find("#flash")).contains("Requeued 1 job"))
                #expect(try await browser.text(try await browser.find("#audit")).contains("provider key rotated; retrying"))
                #expect(try await fixture.store.job(fixture.scriptJob)?.state == .available)
                #expect(try await fixture.store.audit(of: fixture.scriptJob).first?.actor == "browser-test via token 'dashboard'")
                try await browser.open("\(base)/dead-letters")
                #expect(try await browser.findAll("tr.dead-row[data-id='\(fixture.scriptJob.rawValue)']").isEmpty)
                #expect(try await browser.text(try await browser.find("#recent-audit")).contains("browser-test"))
                try await browser.open("\(base)/jobs?state=available")
                #expect(try await browser.findAll("tr.job-row[data-id='\(fixture.scriptJob.rawValue)']").count == 1)
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    /// Runs the dashboard on 127.0.0.1 (a free port) for the duration of `body`.
    func withRunningServer(_ dashboard: Dashboard, _ body: @Sendable (String) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: dashboard.makeRouter(),
                              configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: Logger(label: "surety.dashboard.test"))
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: Logger(label: "surety.dashboard.test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            do {
                try await body("http://127.0.0.1:\(port)")
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
