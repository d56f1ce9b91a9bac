import Foundation
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("surety worker --alerts and surety alerts list")
struct AlertsCommandTests {
    @Test("a worker with --alerts fires a dead-letter alert to a command sink; `alerts list --json` shows it; no secret anywhere")
    func workerAlerts() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let secret = "sk_live_CLI_ALERT_PLANTED"
        let enqueue = try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.flaky", "--payload", #"{"transientRate": 0, "permanentRate": 1, "secret": "\#(secret)"}"#,
            "--tenant", "acme", "--json",
        ], in: dir)
        #expect(enqueue.status == 0, "\(enqueue)")
        let notices = dir.file("notices.jsonl")
        let config = dir.file("alerts.json")
        try Data("""
            {"environment": "ci", "intervalSeconds": 1,
             "rules": [{"kind": "dead_letter"}],
             "sinks": [{"kind": "log"}, {"kind": "command", "command": ["/bin/sh", "-c", "cat >> '\(notices)'; echo >> '\(notices)'"]}]}
            """.utf8).write(to: URL(fileURLWithPath: config))

        let worker = try SuretyProcess([
            "worker", "--store", url, "--demo-jobs", "--poll-interval-ms", "100", "--alerts", config,
        ], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("the command sink received the firing notice") {
            ((try? String(contentsOfFile: notices, encoding: .utf8)) ?? "").contains("\"event\":\"firing\"")
        }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit() == 0)

        let list = try await CLI.run(["alerts", "list", "--store", url, "--json"], in: dir)
        #expect(list.status == 0, "\(list)")
        let alerts = try #require(try list.json()["alerts"] as? [[String: Any]])
        #expect(alerts.count == 1)
        let alert = try #require(alerts.first?["alert"] as? [String: Any])
        #expect(alerts.first?["key"] as? String == "dead-letter/demo.flaky" && alerts.first?["status"] as? String == "firing")
        #expect(alert["environment"] as? String == "ci" && alert["jobType"] as? String == "demo.flaky" && alert["affected"] as? Int == 1)
        let text = try await CLI.run(["alerts", "list", "--store", url], in: dir)
        #expect(text.status == 0 && text.stdout.contains("dead-letter/demo.flaky") && text.stdout.contains("what to do:"), "\(text)")

        let everything = [try String(contentsOfFile: notices, encoding: .utf8), worker.stderr, list.stdout, text.stdout]
        #expect(everything[1].contains("[FIRING ci] demo.flaky: 1 job in the dead-letter inbox"), "the log sink wrote the alert")
        for output in everything { #expect(!output.contains(secret)) }
    }

    @Test("SIGTERM stops a worker whose alert monitor waits between passes (interval one hour) at once")
    func shutdownDuringWait() async throws {
        let dir = try TempDir()
        let config = dir.file("alerts.json")
        try Data(#"{"intervalSeconds": 3600}"#.utf8).write(to: URL(fileURLWithPath: config))
        let worker = try SuretyProcess(["worker", "--store", dir.storeURL(), "--demo-jobs", "--alerts", config], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("the alert monitor started") { worker.stderr.contains("alert monitor started") }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.stderr)")
    }

    @Test("a bad alert configuration is a usage error naming the problem, before the worker starts")
    func badConfiguration() async throws {
        let dir = try TempDir()
        let config = dir.file("alerts.json")
        try Data(#"{"rules": [{"kind": "failure_ratio", "treshold": 0.3}]}"#.utf8).write(to: URL(fileURLWithPath: config))
        let result = try await CLI.run(["worker", "--store", dir.storeURL(), "--demo-jobs", "--alerts", config], in: dir)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("unknown field 'treshold'"), "\(result)")
        let missing = try await CLI.run(["worker", "--store", dir.storeURL(), "--demo-jobs", "--alerts", dir.file("nope.json")], in: dir)
        #expect(missing.status == 2 && missing.stderr.contains("cannot read the alert configuration"), "\(missing)")
    }
}
