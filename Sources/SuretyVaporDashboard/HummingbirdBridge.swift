import Hummingbird
import Logging
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Vapor

/// Serves Vapor requests with a Hummingbird router: each Vapor request becomes a Hummingbird
/// `Request` (method, path and query, headers, the collected body), runs through the router's
/// responder (built once), and the Hummingbird `Response` becomes a Vapor `Response` whose body is
/// streamed from the Hummingbird body as it is written.
///
/// The heads are converted with swift-nio-extras' `NIOHTTPTypesHTTP1`, the conversion
/// Hummingbird's own HTTP/1 server uses (`HTTP1ToHTTPServerCodec(secure: false)`), so a bridged
/// request looks to the router as it would under Hummingbird: the `Host` header becomes the
/// request's authority (the dashboard's same-origin check compares `Origin` with it) and the other
/// headers pass unchanged. A `HEAD` request goes to the router as `GET`: Vapor serves `HEAD` from
/// a `GET` route and sends no body, which is what Hummingbird's generated `HEAD` endpoints do.
struct HummingbirdBridge: Sendable {
    let responder: RouterResponder<BridgedRequestContext>

    init(router: Hummingbird.Router<BridgedRequestContext>) {
        responder = router.buildResponder()
    }

    /// Registers `path` and everything below it, for each of `methods`, on `routes`. A route
    /// that takes a body collects at most `maximumBody` bytes (a longer body is Vapor's `413`).
    /// - Returns: the routes registered, two per method (the path, and the path with `**`).
    @discardableResult
    func register(on routes: any RoutesBuilder, at path: [PathComponent], methods: [Vapor.HTTPMethod],
                  maximumBody: Int, description: String) -> [Route] {
        let respond: @Sendable (Vapor.Request) async throws -> Vapor.Response = { request in try await self.respond(to: request) }
        return methods.flatMap { method -> [Route] in
            // Vapor's `**` matches one or more components, so the path itself is its own route.
            [path, path + [.catchall]].map { pattern in
                routes.on(method, pattern, body: .collect(maxSize: ByteCount(value: maximumBody)), use: respond).description(description)
            }
        }
    }

    /// The router's answer to a Vapor request.
    func respond(to request: Vapor.Request) async throws -> Vapor.Response {
        var logger = request.logger
        logger[metadataKey: "hb.request.id"] = .string(request.id)
        let context = BridgedRequestContext(source: BridgedRequestSource(logger: logger))
        let bridged = Hummingbird.Request(head: try Self.head(of: request), body: RequestBody(buffer: request.body.data ?? ByteBuffer()))
        return Self.vaporResponse(try await responder.respond(to: bridged, context: context))
    }

    /// The request head the router sees: Vapor's method (`HEAD` as `GET`), its path and query as
    /// they arrived (percent-encoded), and its headers.
    static func head(of request: Vapor.Request) throws -> HTTPRequest {
        let uri = request.url.path + (request.url.query.map { "?\($0)" } ?? "")
        let method: Vapor.HTTPMethod = request.method == .HEAD ? .GET : request.method
        return try HTTPRequest(HTTPRequestHead(version: request.version, method: method, uri: uri, headers: request.headers),
                               secure: false, splitCookie: false)
    }

    /// A Vapor response with the Hummingbird response's status and headers, whose body is written
    /// by the Hummingbird body into Vapor's stream when Vapor sends it (with its length when
    /// known, else chunked).
    static func vaporResponse(_ response: Hummingbird.Response) -> Vapor.Response {
        let head = HTTPResponseHead(response.head)
        let body = response.body
        return Vapor.Response(status: head.status, headers: head.headers, body: .init(managedAsyncStream: { writer in
            try await body.write(VaporBodyStreamWriter(target: writer))
        }, count: body.contentLength ?? -1))
    }
}
