import ArgumentParser
import Foundation
import Surety
import SuretyViews

/// `surety enqueue --file`: bulk enqueue from a file of JSON lines, for operators (a backfill, a
/// replay of failed work exported elsewhere) and for `surety prove`'s group-commit crash point.
enum EnqueueFile {
    static let lineFormat = """
        {"type": NAME, "payload": {...}, "tenant": T or "system": true, and optionally "unique_key", \
        "unique_scope" ("while_active" or "forever"), "queue", "priority", "max_attempts", \
        "delay_seconds", "tags": [...], "correlation": {...}}. Blank lines are skipped.
        """

    /// One checked line.
    struct Line: Sendable {
        var number: Int
        var type: String
        var payload: String
        var tenant: TenantID
        var options: EnqueueOptions
    }

    static func run(path: String, registry: JobRegistry, concurrency: Int, json: Bool, storeOptions: StoreOptions) async throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SuretyError(.invalidArgument, "cannot read \(path) as UTF-8 text: \(error.localizedDescription)")
        }
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                lines.append(try parse(trimmed, number: index + 1))
            } catch let error as SuretyError {
                throw SuretyError(error.code, "\(path) line \(index + 1): \(error.message); nothing was enqueued")
            }
        }
        // Every line against a scratch memory store first: one bad line inserts nothing. The
        // queue's own rules judge the options (priority, attempts, queue, keys); an option they
        // refuse is bad data in the file, not a bad command line: invalid_payload (exit 1).
        let scratch = JobQueue(store: MemoryStore(), registry: registry, logger: Logs.silent("surety.queue"))
        for line in lines {
            do {
                _ = try await scratch.enqueue(type: line.type, payload: line.payload, tenant: line.tenant, options: line.options)
            } catch let error as SuretyError {
                let code = error.code == .invalidArgument ? .invalidPayload : error.code
                throw SuretyError(code, "\(path) line \(line.number): \(error.message); nothing was enqueued")
            }
        }
        try await storeOptions.withStore(create: true) { opened in
            // The application's tenant rule, for every tenant of the file before any line is written.
            try await SuretyApplication.current.admit(lines.map(\.tenant), in: opened) { tenant in
                "\(path) line \(lines.first { $0.tenant == tenant }?.number ?? 0)"
            }
            let client = JobQueue(store: opened.store, registry: registry, logger: Logs.silent("surety.queue"))
            let (inserted, held) = try await enqueue(lines, client: client, concurrency: concurrency, json: json)
            if !json {
                Console.line("enqueued \(inserted) jobs from \(path) (\(held) lines found their unique key held and inserted nothing) into \(opened.url)")
            }
        }
    }

    /// Enqueues `lines`, `concurrency` at a time; prints each acknowledgement at once with `json`.
    static func enqueue(_ lines: [Line], client: JobQueue, concurrency: Int, json: Bool) async throws -> (inserted: Int, held: Int) {
        try await withThrowingTaskGroup(of: (Int, EnqueuedJob).self) { group in
            var next = 0
            var inserted = 0, held = 0
            func start() {
                let line = lines[next]
                next += 1
                group.addTask {
                    (line.number, try await client.enqueue(type: line.type, payload: line.payload, tenant: line.tenant, options: line.options))
                }
            }
            while next < lines.count && next < concurrency { start() }
            while let (number, result) = try await group.next() {
                if result.inserted { inserted += 1 } else { held += 1 }
                if json {
                    Console.line(JSONValue.object([
                        "line": .int(Int64(number)), "id": .int(result.id.rawValue), "inserted": .bool(result.inserted),
                    ]).rendered(pretty: false))
                }
                if next < lines.count { start() }
            }
            return (inserted, held)
        }
    }

    /// One line; a line that is not what the format says is `invalid_payload` (exit 1: bad data,
    /// not a bad command line), an unknown tenant `invalid_tenant`, a missing one `missing_tenant`.
    static func parse(_ text: String, number: Int) throws -> Line {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw SuretyError(.invalidPayload, "not a JSON object")
        }
        let known: Set<String> = ["type", "payload", "tenant", "system", "unique_key", "unique_scope", "queue", "priority",
                                  "max_attempts", "delay_seconds", "tags", "correlation"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw SuretyError(.invalidPayload, "unknown field '\(unknown)'")
        }
        func string(_ name: String) throws -> String? {
            guard let value = object[name], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw SuretyError(.invalidPayload, "'\(name)' must be a string") }
            return text
        }
        func integer(_ name: String) throws -> Int? {
            guard let value = object[name], !(value is NSNull) else { return nil }
            guard let number = value as? NSNumber, let exact = Int(exactly: number.doubleValue) else {
                throw SuretyError(.invalidPayload, "'\(name)' must be an integer")
            }
            return exact
        }
        guard let type = try string("type") else { throw SuretyError(.invalidPayload, "'type' is required") }
        guard let payloadObject = object["payload"], payloadObject is [String: Any] else {
            throw SuretyError(.invalidPayload, "'payload' must be a JSON object")
        }
        let payload = String(decoding: try JSONSerialization.data(withJSONObject: payloadObject, options: [.sortedKeys]), as: UTF8.self)
        let system = (object["system"] as? Bool) ?? false
        let tenant: TenantID
        switch (try string("tenant"), system) {
        case (let name?, false): tenant = try TenantID(name)
        case (nil, true): tenant = .system
        case (nil, false): throw SuretyError(.missingTenant, "a tenant is required: \"tenant\": T, or \"system\": true")
        case (.some, true): throw SuretyError(.invalidPayload, "give either \"tenant\" or \"system\": true, not both")
        }
        var scope: UniqueScope?
        if let name = try string("unique_scope") {
            guard let parsed = UniqueScope(rawValue: name) else {
                throw SuretyError(.invalidPayload, "'unique_scope' must be while_active or forever")
            }
            scope = parsed
        }
        var delay: Duration?
        if let value = object["delay_seconds"], !(value is NSNull) {
            guard let seconds = (value as? NSNumber)?.doubleValue, seconds.isFinite, (0...3_155_760_000).contains(seconds) else {
                throw SuretyError(.invalidPayload, "'delay_seconds' must be a number of seconds from 0 to 3155760000")
            }
            delay = .interval(seconds)
        }
        var tags: [String] = []
        if let value = object["tags"], !(value is NSNull) {
            guard let list = value as? [String] else { throw SuretyError(.invalidPayload, "'tags' must be an array of strings") }
            tags = list
        }
        var correlation: [String: String] = [:]
        if let value = object["correlation"], !(value is NSNull) {
            guard let map = value as? [String: String] else { throw SuretyError(.invalidPayload, "'correlation' must be an object of strings") }
            correlation = map
        }
        let options = EnqueueOptions(
            delay: delay, uniqueKey: try string("unique_key"), queue: try string("queue"), priority: try integer("priority"),
            maxAttempts: try integer("max_attempts"), tags: tags, correlation: correlation, uniqueScope: scope
        )
        return Line(number: number, type: type, payload: payload, tenant: tenant, options: options)
    }
}
