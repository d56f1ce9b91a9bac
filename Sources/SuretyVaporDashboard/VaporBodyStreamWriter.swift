import Hummingbird
import Vapor

/// A Hummingbird `ResponseBodyWriter` that writes each buffer straight into a Vapor response's
/// body stream, so a bridged response streams as it would from Hummingbird's own server (nothing
/// is collected first: a route that writes for a long time, server-sent events say, reaches the
/// client chunk by chunk).
///
/// Vapor's response API has no trailing headers, so trailers passed to `finish` are dropped. The
/// stream is ended by Vapor's `managedAsyncStream`, which writes the end (or the error) when the
/// Hummingbird body's write returns (or throws).
struct VaporBodyStreamWriter: ResponseBodyWriter {
    let target: any AsyncBodyStreamWriter

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await target.writeBuffer(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
