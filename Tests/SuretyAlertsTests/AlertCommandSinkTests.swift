import Foundation
import Surety
import SuretyAlerts
import SuretyTesting
import Testing

@Suite("Alert command sink")
struct AlertCommandSinkTests {
    static func notice() -> AlertNotice {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let alert = Alert(
            key: "dead-letter/mail.send", rule: "dead-letter", kind: .deadLetter, jobType: "mail.send", queue: "email", queues: ["email"],
            environment: "test", summary: "mail.send: 2 jobs in the dead-letter inbox", firstFailureAt: at, firingSince: at, observedAt: at,
            resolvedAt: nil, lastError: .init(type: "ProviderError", errorClass: "permanent", message: "401", jobID: JobID(7), at: at),
            affected: 2, value: 2, threshold: 1, deadLetter: .init(count: 2, arrivedInWindow: 2), whatToDo: "requeue"
        )
        return AlertNotice(event: .firing, sentAt: at, alert: alert)
    }

    @Test("the shell command gets the notice's JSON on stdin and SURETY_ALERT_* variables")
    func getsJSON() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("surety-alert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("notice.json").path
        let env = folder.appendingPathComponent("env.txt").path
        let sink = CommandAlertSink(command: ["/bin/sh", "-c", "cat > '\(json)'; echo \"$SURETY_ALERT_EVENT $SURETY_ALERT_KEY $SURETY_ALERT_AFFECTED\" > '\(env)'"])
        let notice = Self.notice()
        try await sink.deliver(notice)
        let received = try Data(contentsOf: URL(fileURLWithPath: json))
        #expect(received == notice.json())
        let object = try #require(try JSONSerialization.jsonObject(with: received) as? [String: Any])
        #expect(object["event"] as? String == "firing" && object["version"] as? Int == 1)
        let alert = try #require(object["alert"] as? [String: Any])
        #expect(alert["jobType"] as? String == "mail.send" && alert["firstFailureAt"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(try String(contentsOfFile: env, encoding: .utf8) == "firing dead-letter/mail.send 2\n")
    }

    @Test("a failing or hanging command fails the delivery within its time limit")
    func failsAndTimesOut() async throws {
        await #expect(throws: SuretyError.self) { try await CommandAlertSink(command: ["/bin/sh", "-c", "exit 3"]).deliver(Self.notice()) }
        await #expect(throws: SuretyError.self) { try await CommandAlertSink(command: ["/no/such/program"]).deliver(Self.notice()) }
        let hanging = CommandAlertSink(command: ["/bin/sleep", "60"], timeout: .milliseconds(200))
        do {
            try await hanging.deliver(Self.notice())
            Issue.record("a hanging command must fail")
        } catch let error as SuretyError {
            #expect(error.message.contains("did not finish within"))
        }
    }
}
