import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP server on 127.0.0.1 for the webhook tests: answers each request with the next
/// scripted status (`nil`: never answers, to make the client time out), then 200, and records
/// every request.
final class WebhookServer: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [String: String]
        var body: Data
    }

    private struct State {
        var script: [Int?]
        var requests: [Request] = []
    }

    private let state: Mutex<State>
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    init(script: [Int?]) { state = Mutex(State(script: script)) }

    var requests: [Request] { state.withLock { $0.requests } }

    /// Records a request and returns the status to answer with (`nil`: no answer).
    func record(_ request: Request) -> Int? {
        state.withLock { state in
            state.requests.append(request)
            return state.script.isEmpty ? 200 : state.script.removeFirst()
        }
    }

    /// Starts listening on a free port of 127.0.0.1; returns the URL of `/hook`.
    func start() async throws -> String {
        let server = self
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = bound }
        return "http://127.0.0.1:\(bound.localAddress?.port ?? 0)/hook"
    }

    func stop() async throws {
        let bound = channel.withLock { $0 }
        try await bound?.close()
        try await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let server: WebhookServer
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(server: WebhookServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: "\(head.method)", uri: head.uri, headers: headers, body: Data(body.readableBytesView))
                guard let status = server.record(request) else { return }
                var responseHeaders = HTTPHeaders()
                responseHeaders.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: responseHeaders))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
