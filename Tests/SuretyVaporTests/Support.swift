import Foundation
import Surety
import SuretySQLite
import Vapor

/// The tests' job: records its name in the ``Greetings`` dependency, after `delay`.
struct Greet: Job {
    static let name = "vapor-test.greet"
    var name: String
    var delayMilliseconds: Int?

    func run(_ context: JobContext) async throws {
        if let delayMilliseconds { try await Task.sleep(for: .milliseconds(delayMilliseconds)) }
        try await context.dependency(Greetings.self).add(name)
    }
}

actor Greetings {
    private(set) var names: [String] = []
    func add(_ name: String) { names.append(name) }
}

struct GreetBody: Content {
    var name: String
    var delayMilliseconds: Int?
    var fail: Bool?
}

/// A temporary folder removed at deinit.
final class TempFolder: Sendable {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "surety-vapor-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The tests' tenant resolver: the `X-Tenant` header.
@Sendable func tenantHeader(_ req: Request) throws -> TenantID? {
    try req.headers.first(name: "X-Tenant").map { try TenantID($0) }
}

/// Registers `POST /greet`, which enqueues a ``Greet`` for the request's tenant.
func greetRoute(_ app: Application) {
    app.post("greet") { req async throws -> Response in
        let body = try req.content.decode(GreetBody.self)
        let job = try await req.surety.enqueue(Greet(name: body.name, delayMilliseconds: body.delayMilliseconds))
        return Response(status: .created, body: .init(string: "\(job.id)"))
    }
}

/// `withApp` for an app booted as a server would be (`Environment.testing` carries the test
/// runner's own arguments, which Vapor would take for a command).
func withServerApp<T>(_ body: (Application) async throws -> T) async throws -> T {
    let app = try await Application.make(Environment(name: "testing", arguments: ["app"]))
    let result: T
    do {
        result = try await body(app)
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
    try await app.asyncShutdown()
    return result
}
