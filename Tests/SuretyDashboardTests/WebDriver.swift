import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HummingbirdTesting
import Hummingbird
import SuretyTesting

/// Where Debian's headless Chromium and its driver live (scripts/test installs them as root).
enum BrowserEnvironment {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: chromium) && FileManager.default.isExecutableFile(atPath: chromedriver)
    }
    /// Under CI the browser tests run (and fail) even when Chromium is missing: never a silent skip.
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}

struct WebDriverError: Error, CustomStringConvertible {
    var description: String
}

/// A chromedriver process on a free loopback port, stopped (by its own pid) on `stop()`.
final class ChromeDriverProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let logPath: String

    init(logDirectory: String) async throws {
        guard BrowserEnvironment.available else {
            throw WebDriverError(description: "Chromium is not installed: run scripts/test as root (it installs chromium and chromium-driver), or apt-get install -y --no-install-recommends chromium chromium-driver")
        }
        logPath = (logDirectory as NSString).appendingPathComponent("chromedriver.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: BrowserEnvironment.chromedriver)
        process.arguments = ["--port=0", "--allowed-ips=127.0.0.1"]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var found: Int?
        let path = logPath
        try await eventually("chromedriver prints its port", timeout: .seconds(30), pollEvery: .milliseconds(50)) {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            guard let range = text.range(of: "started successfully on port ") else { return false }
            found = Int(text[range.upperBound...].prefix { $0.isNumber })
            return found != nil
        }
        port = found!
    }

    /// chromedriver does not always exit on SIGTERM (seen here), and `waitUntilExit` would then
    /// wait forever: it gets SIGKILL, by its own pid.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A tiny W3C WebDriver client over chromedriver's HTTP API.
struct WebDriver: Sendable {
    let port: Int
    let session: String

    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    static func start(port: Int, width: Int = 1280, height: Int = 1000) async throws -> WebDriver {
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
                "binary": BrowserEnvironment.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=\(width),\(height)", "--hide-scrollbars", "--force-device-scale-factor=1"],
            ],
        ]]]
        let value = try await call(port: port, "/session", method: .post, body: capabilities)
        guard let object = value as? [String: Any], let id = object["sessionId"] as? String else {
            throw WebDriverError(description: "no session from chromedriver: \(String(describing: value))")
        }
        return WebDriver(port: port, session: id)
    }

    /// One WebDriver command over its own HTTP/1 connection (NIO, through HummingbirdTesting's
    /// client), with a read timeout.
    @discardableResult
    static func call(port: Int, _ path: String, method: HTTPRequest.Method, body: Any? = nil) async throws -> Any {
        let buffer = try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(90))) { client in
            try await client.execute(TestClient.Request(path, method: method, authority: "127.0.0.1:\(port)",
                                                        headers: [.contentType: "application/json"], body: buffer))
        }
        let data = response.body.map { Data(buffer: $0) } ?? Data()
        let json = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? [String: Any]
        let value = json?["value"] ?? NSNull()
        if response.status.code >= 400 {
            throw WebDriverError(description: "\(method) \(path) -> \(response.status.code): \(value)")
        }
        return value
    }

    @discardableResult
    private func call(_ path: String, method: HTTPRequest.Method = .get, body: Any? = nil) async throws -> Any {
        try await Self.call(port: port, "/session/\(session)\(path)", method: method, body: body)
    }

    func open(_ url: String) async throws { try await call("/url", method: .post, body: ["url": url]) }
    func currentURL() async throws -> String { try await call("/url") as? String ?? "" }
    func title() async throws -> String { try await call("/title") as? String ?? "" }

    func find(_ css: String) async throws -> String {
        let value = try await call("/element", method: .post, body: ["using": "css selector", "value": css])
        guard let element = (value as? [String: Any])?[Self.elementKey] as? String else {
            let source = (try? await pageSource()) ?? ""
            let url = (try? await currentURL()) ?? ""
            throw WebDriverError(description: "no element \(css) on \(url): \(value); page starts \(source.prefix(1500))")
        }
        return element
    }

    func findAll(_ css: String) async throws -> [String] {
        let value = try await call("/elements", method: .post, body: ["using": "css selector", "value": css])
        return (value as? [[String: Any]] ?? []).compactMap { $0[Self.elementKey] as? String }
    }

    func click(_ element: String) async throws { try await call("/element/\(element)/click", method: .post, body: [String: Any]()) }
    func type(_ element: String, _ text: String) async throws { try await call("/element/\(element)/value", method: .post, body: ["text": text]) }
    func text(_ element: String) async throws -> String { try await call("/element/\(element)/text") as? String ?? "" }
    func attribute(_ element: String, _ name: String) async throws -> String? { try await call("/element/\(element)/attribute/\(name)") as? String }
    func pageSource() async throws -> String { try await call("/source") as? String ?? "" }

    func screenshot(to path: String) async throws {
        guard let base64 = try await call("/screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw WebDriverError(description: "no screenshot")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func quit() async { _ = try? await Self.call(port: port, "/session/\(session)", method: .delete) }
}
