import Hummingbird
import Logging

/// The Hummingbird request context the dashboard's routes run with inside a Vapor app.
///
/// Hummingbird's own `ApplicationRequestContextSource` carries the NIO channel its server
/// accepted; a request bridged from Vapor has no such channel of Hummingbird's, so the context is
/// built from `BridgedRequestSource` instead, which carries only what the dashboard reads: the
/// request's logger. (HummingbirdTesting's router framework builds its contexts the same way,
/// from a source it makes itself, without a server.)
struct BridgedRequestContext: RequestContext {
    typealias Source = BridgedRequestSource

    var coreContext: CoreRequestContextStorage

    init(source: BridgedRequestSource) {
        coreContext = CoreRequestContextStorage(source: source)
    }
}

/// What a `BridgedRequestContext` is made from: the Vapor request's logger, with the Vapor
/// request id also under Hummingbird's `hb.request.id` key (Hummingbird's `RequestContext.id`
/// reads that key and traps without it).
struct BridgedRequestSource: RequestContextSource {
    let logger: Logger
}
