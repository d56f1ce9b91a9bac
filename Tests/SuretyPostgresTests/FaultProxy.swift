import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy between a client (a worker's PostgreSQL pool) and the PostgreSQL server, with
/// faults the test switches at any time (issue 17, network faults):
///
/// - ``blackhole()``: a partition. No byte is forwarded in either direction, on existing and on
///   new connections; every socket stays open, so neither end gets an error (as with a real
///   partition, TCP says nothing). New connections are accepted and then silent.
/// - ``heal()``: forward again. Bytes held during the black hole are **delivered, in order, not
///   dropped**: a real partition shorter than TCP's retransmission timeout (minutes) loses no
///   byte of an open connection, TCP retransmits them once the path is back. (Dropping them would
///   corrupt the protocol stream, which no real network does to a TCP connection.) The proxy stops
///   reading while black-holed, so what is held is bounded by what was already read plus the
///   kernel's socket buffers.
/// - ``resetAll()``: closes every connection at once with a TCP reset (`SO_LINGER` 0), both the
///   client's and the server's side.
/// - ``delay(_:)``: a fixed extra latency for every chunk, in both directions (order is kept).
///
/// Loopback only: it listens on 127.0.0.1 (a free port, ``port``) and refuses an upstream that is
/// not a loopback address. Bounded: ``withFaultProxy(upstreamHost:upstreamPort:_:)`` closes the
/// listener and every connection and stops its event loop when the body returns or throws.
final class FaultProxy: Sendable {
    /// The port clients connect to (on 127.0.0.1).
    let port: Int
    let upstreamHost: String
    let upstreamPort: Int

    private let group: MultiThreadedEventLoopGroup
    private let listener: any Channel
    let controls: Controls

    /// The switches and the open connections, shared by the test and the relays.
    final class Controls: Sendable {
        struct State {
            var blackholed = false
            var delay: Duration = .zero
            var channels: [ObjectIdentifier: any Channel] = [:]
            var accepted = 0
            var resets = 0
            var shutDown = false
        }

        let state = Mutex(State())
        var blackholed: Bool { state.withLock { $0.blackholed } }
        var delay: Duration { state.withLock { $0.delay } }

        /// Registers an open channel; returns false (and the caller closes it) after shutdown.
        func register(_ channel: any Channel) -> Bool {
            let id = ObjectIdentifier(channel)
            let registered = state.withLock { state -> Bool in
                guard !state.shutDown else { return false }
                state.channels[id] = channel
                return true
            }
            if registered {
                channel.closeFuture.whenComplete { [self] _ in
                    _ = state.withLock { $0.channels.removeValue(forKey: id) }
                }
            }
            return registered
        }
    }

    /// A user event telling a relay to forward what it holds.
    struct Release: Sendable {}

    struct NotLoopback: Error, CustomStringConvertible {
        var host: String
        var description: String { "the fault proxy forwards to loopback addresses only, not '\(host)'" }
    }

    private init(port: Int, upstreamHost: String, upstreamPort: Int, group: MultiThreadedEventLoopGroup, listener: any Channel, controls: Controls) {
        self.port = port
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.group = group
        self.listener = listener
        self.controls = controls
    }

    /// Starts a proxy to `upstreamHost:upstreamPort`, runs `body`, then shuts the proxy down.
    static func withFaultProxy<T>(upstreamHost: String, upstreamPort: Int, _ body: (FaultProxy) async throws -> T) async throws -> T {
        let proxy = try await start(upstreamHost: upstreamHost, upstreamPort: upstreamPort)
        do {
                let value = try await body(proxy)
            phase("shutting the proxy down")
            await proxy.shutdown()
            phase("proxy shut down")
            return value
        } catch {
            await proxy.shutdown()
            throw error
        }
    }

    static func start(upstreamHost: String, upstreamPort: Int) async throws -> FaultProxy {
        let loopbackNames: Set<String> = ["localhost", "::1", "[::1]"]
        guard loopbackNames.contains(upstreamHost.lowercased()) || upstreamHost.hasPrefix("127.") else {
            throw NotLoopback(host: upstreamHost)
        }
        // Connect upstream over IPv4 loopback when the URL says "localhost".
        let host = upstreamHost.lowercased() == "localhost" ? "127.0.0.1" : upstreamHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let controls = Controls()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: false) // until the upstream is connected
            .childChannelInitializer { inbound in
                Self.accept(inbound, host: host, port: upstreamPort, controls: controls)
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        guard let port = listener.localAddress?.port else {
            try? await listener.close()
            try? await group.shutdownGracefully()
            throw NotLoopback(host: "(no local port)")
        }
        return FaultProxy(port: port, upstreamHost: host, upstreamPort: upstreamPort, group: group, listener: listener, controls: controls)
    }

    /// Sets up one accepted connection: a relay on it, a connection upstream on the same event
    /// loop with a relay of its own, each relay writing to the other channel.
    private static func accept(_ inbound: any Channel, host: String, port: Int, controls: Controls) -> EventLoopFuture<Void> {
        controls.state.withLock { $0.accepted += 1 }
        guard controls.register(inbound) else { return inbound.close() }
        let inboundRelay = Relay(controls: controls, partner: nil)
        do {
            try inbound.pipeline.syncOperations.addHandler(inboundRelay)
        } catch {
            return inbound.eventLoop.makeFailedFuture(error)
        }
        let loop = inbound.eventLoop
        let inboundBox = NIOLoopBound(inboundRelay, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelInitializer { outbound in
                do {
                    try outbound.pipeline.syncOperations.addHandler(Relay(controls: controls, partner: inbound))
                    return outbound.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return outbound.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let outbound):
                    guard controls.register(outbound), inbound.isActive else {
                        outbound.close(promise: nil)
                        inbound.close(promise: nil)
                        return
                    }
                    inboundBox.value.partner = outbound
                    inboundBox.value.partnerConnected()
                    // Reading starts now, or at heal if the proxy is black-holed (a relay held
                    // back by `autoRead` off, which heal turns on again).
                    if !controls.blackholed {
                        inbound.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                        outbound.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                    }
                case .failure:
                    inbound.close(promise: nil)
                }
            }
        return loop.makeSucceededVoidFuture()
    }

    // MARK: Faults

    /// A partition: nothing is forwarded (both directions, open and new connections) until
    /// ``heal()``; every socket stays open.
    func blackhole() {
        let channels = controls.state.withLock { state -> [any Channel] in
            state.blackholed = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Forwards again, first what was held during the black hole (delivered, not dropped).
    func heal() {
        let channels = controls.state.withLock { state -> [any Channel] in
            state.blackholed = false
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.eventLoop.execute {
                channel.pipeline.fireUserInboundEventTriggered(Release())
                // Turning autoRead on again starts a read.
                channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            }
        }
    }

    /// Closes every connection at once, with a TCP reset.
    func resetAll() {
        let channels = controls.state.withLock { state -> [any Channel] in
            state.resets += 1
            return Array(state.channels.values)
        }
        for channel in channels {
            Self.reset(channel)
        }
    }

    /// A fixed extra latency per chunk in both directions (`.zero`: none).
    func delay(_ latency: Duration) {
        controls.state.withLock { $0.delay = latency }
    }

    /// Connections accepted so far, and connections open now (both sides counted).
    var accepted: Int { controls.state.withLock { $0.accepted } }
    var openChannels: Int { controls.state.withLock { $0.channels.count } }

    /// Closes the listener and every connection and stops the event loop.
    func shutdown() async {
        let channels = controls.state.withLock { state -> [any Channel] in
            state.shutDown = true
            return Array(state.channels.values)
        }
        try? await listener.close()
        for channel in channels { Self.reset(channel) }
        for channel in channels { try? await channel.closeFuture.get() }
        try? await group.shutdownGracefully()
    }

    private static func reset(_ channel: any Channel) {
        channel.eventLoop.execute {
            if let provider = channel as? any SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                    channel.close(promise: nil)
                }
            } else {
                channel.close(promise: nil)
            }
        }
    }

    /// Forwards what its channel reads to `partner`, after the configured delay, holding it
    /// while the proxy is black-holed. Lives on the event loop of both channels of its pair.
    final class Relay: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer

        let controls: Controls
        var partner: (any Channel)?
        private var context: ChannelHandlerContext?
        /// Chunks read and not yet forwarded, each with the time it may be forwarded.
        private var held = CircularBuffer<(due: NIODeadline, data: ByteBuffer)>()
        private var timer: Scheduled<Void>?

        init(controls: Controls, partner: (any Channel)?) {
            self.controls = controls
            self.partner = partner
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) {
            self.context = nil
            timer?.cancel()
        }

        func partnerConnected() { pump() }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            let delay = controls.delay
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            held.append((NIODeadline.now() + .nanoseconds(nanoseconds), buffer))
            pump()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is Release { pump() } else { context.fireUserInboundEventTriggered(event) }
        }

        /// Forwards every due chunk unless black-holed; arms a timer for the next one.
        private func pump() {
            guard let partner, let context, !controls.blackholed else { return }
            let now = NIODeadline.now()
            var wrote = false
            while let first = held.first, first.due <= now {
                held.removeFirst()
                partner.write(first.data, promise: nil)
                wrote = true
            }
            if wrote { partner.flush() }
            if let first = held.first, timer == nil {
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                timer = context.eventLoop.scheduleTask(deadline: first.due) {
                    loopBound.value.timer = nil
                    loopBound.value.pump()
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            // One side closed: close the other (what is still held is dropped with it).
            partner?.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
            partner?.close(promise: nil)
        }
    }
}

extension FaultProxy {
    /// Host and port of `SURETY_TEST_POSTGRES_URL`.
    static func upstream(of url: String) throws -> (host: String, port: Int) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw NotLoopback(host: "(unparseable URL)")
        }
        return (host, components.port ?? 5432)
    }
}
