import Foundation
import Surety
import SuretyAlerts
import Testing

/// Bounds on the alert file's numbers (moved with the alerts out of the core's tests; issue 14).
@Suite("Alert configuration bounds")
struct AlertConfigurationBoundsTests {
    @Test("14: an alert file with an absurd intervalSeconds or sink timeoutSeconds is refused with a clear error")
    func alertConfigurationBounds() throws {
        for json in [#"{"intervalSeconds": 1e300}"#, #"{"intervalSeconds": 1e12}"#] {
            let error = try #require(throws: SuretyError.self) { try AlertConfiguration.decode(json: Data(json.utf8)) }
            #expect(error.message.contains("intervalSeconds"), "\(error.message)")
        }
        let sink = #"{"sinks": [{"kind": "command", "command": ["/bin/true"], "timeoutSeconds": 1e300}]}"#
        let error = try #require(throws: SuretyError.self) { try AlertConfiguration.decode(json: Data(sink.utf8)) }
        #expect(error.message.contains("timeoutSeconds"), "\(error.message)")
        // Ordinary values still load.
        _ = try AlertConfiguration.decode(json: Data(#"{"intervalSeconds": 60}"#.utf8))
    }
}
