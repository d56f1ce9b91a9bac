import Foundation
import Logging
import Surety
import Synchronization

extension StoreConformance {
    /// Hostile input (issue 17): every string that enters a store — payloads, job type and queue
    /// names, tags, correlation keys and values, unique and partition keys, worker ids, error
    /// texts, operator actors and reasons, effect names, keys and results, schedule and workflow
    /// names, step results, queue-limit names — with NUL, each C0 control character and DEL, all of
    /// them at once, emoji, combining marks and bidirectional marks, text decoded from invalid
    /// UTF-8, and 1 MB values. Each one is either refused with a ``SuretyError`` whose code says
    /// the input was bad (never `store_unavailable` or `store_corrupt`, never a crash or a hang,
    /// and nothing of a refused batch written) or read back byte for byte. After each one a
    /// normal job still enqueues, claims and completes.
    func hostileInput(_ store: any OperatedStore, _ check: Check) async throws {
        var sections: [(String, @Sendable () async throws -> Void)] = []
        for (index, field) in Self.jobFields.enumerated() {
            sections.append(("job \(field.name)", { @Sendable in try await self.hostileJobField(store, check, index) }))
        }
        let others: [(String, @Sendable () async throws -> Void)] = [
            ("canonically equivalent names", { try await self.hostileEquivalentNames(store, check) }),
            ("worker ids", { try await self.hostileWorkerIDs(store, check) }),
            ("error texts", { try await self.hostileErrorTexts(store, check) }),
            ("operator actions", { try await self.hostileOperatorActions(store, check) }),
            ("effect ledger", { try await self.hostileEffects(store, check) }),
            ("schedules", { try await self.hostileSchedules(store, check) }),
            ("workflows", { try await self.hostileWorkflows(store, check) }),
            ("queue limits", { try await self.hostileQueueLimits(store, check) }),
            ("the client", { try await self.hostileClient(store, check) }),
        ]
        sections += others
        // Every section runs, so one failure does not hide another; all are reported together.
        var failures: [String] = []
        for (name, section) in sections {
            do {
                try await Self.within(.seconds(300), "the '\(name)' checks", check, section)
            } catch let failure as ConformanceFailure {
                failures.append(failure.check)
            } catch {
                failures.append("the '\(name)' checks failed with \(String(reflecting: error))")
            }
        }
        if !failures.isEmpty { try check.fail(failures.joined(separator: "\n")) }
    }

    // MARK: Values

    /// A hostile value and the name failure messages give it (the value itself may be 1 MB).
    struct HostileValue: Sendable {
        var label: String
        var text: String
    }

    /// NUL; each C0 control character and DEL between two letters; all of them at once; emoji,
    /// combining and bidirectional marks; what invalid UTF-8 becomes as a Swift `String` (a
    /// `String` cannot hold invalid UTF-8: decoding repairs it to U+FFFD, so that is what can
    /// arrive); 1 MiB of letters; one character of 1 MB (a letter and 524,287 combining marks:
    /// `count` is 1, so character-count limits do not see it).
    static let hostileValues: [HostileValue] = {
        var values = [HostileValue(label: "NUL", text: "a\u{0}b")]
        for scalar in UInt8(1)...0x1F {
            values.append(HostileValue(label: String(format: "U+%04X", scalar), text: "a\(Character(Unicode.Scalar(scalar)))b"))
        }
        values.append(HostileValue(label: "DEL", text: "a\u{7F}b"))
        let controls = (UInt8(1)...0x1F).map { Character(Unicode.Scalar($0)) }
        values.append(HostileValue(label: "every C0 control and DEL", text: "x" + String(controls) + "\u{7F}y"))
        values.append(HostileValue(
            label: "emoji, combining and bidirectional marks",
            text: "👩🏽‍🚒 é e\u{301}\u{302} \u{202E}lave\u{202C} \u{200F}שלום\u{200E} \u{FEFF}\u{FFFD}\u{FFFF}\u{10FFFF} \u{2028}\u{2029}\u{85}\u{9B}2J"
        ))
        values.append(HostileValue(label: "quotes, backslashes, SQL and JSON-path characters", text: #"o'k"; --\"%_*[0].$\u0000{}"#))
        values.append(HostileValue(
            label: "invalid UTF-8 (as decoded into a String)",
            text: String(decoding: [0x61, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0x62], as: UTF8.self)
        ))
        values.append(HostileValue(label: "1 MiB of letters", text: megabyte))
        values.append(HostileValue(label: "one character of 1 MB", text: "e" + String(repeating: "\u{301}", count: 524_287)))
        return values
    }()

    /// 1 MiB of letters and digits from a fixed pseudo-random sequence (so compression does not
    /// make it small).
    static let megabyte: String = {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 20)
        for _ in 0..<(1 << 20) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(alphabet[Int(state >> 58)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }()

    // MARK: Comparing and describing

    /// Byte-for-byte equality (Swift's `==` on strings is canonical equivalence: `é` equals
    /// `e\u{301}` there, not here).
    static func identical(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.utf8.elementsEqual(b.utf8)
        default: false
        }
    }

    static func identical(_ a: [String]?, _ b: [String]?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.count == b.count && zip(a, b).allSatisfy { identical($0, $1) }
    }

    static func identical(_ a: [String: String]?, _ b: [String: String]?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        func pairs(_ dictionary: [String: String]) -> [([UInt8], [UInt8])] {
            dictionary.map { (Array($0.key.utf8), Array($0.value.utf8)) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        }
        let (left, right) = (pairs(a), pairs(b))
        return left.count == right.count && zip(left, right).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// A short, escaped description of a possibly huge value, for failure messages.
    static func preview(_ text: String?) -> String {
        guard let text else { return "nil" }
        let head = text.unicodeScalars.prefix(24).map { $0.escaped(asASCII: true) }.joined()
        return "\(text.utf8.count) bytes \"\(head)\(text.unicodeScalars.count > 24 ? "…" : "")\""
    }

    static func preview(_ texts: [String]?) -> String { texts.map { "[" + $0.map { preview($0) }.joined(separator: ", ") + "]" } ?? "nil" }

    static func preview(_ dictionary: [String: String]?) -> String {
        dictionary.map { "[" + $0.map { "\(preview($0.key)): \(preview($0.value))" }.joined(separator: ", ") + "]" } ?? "nil"
    }

    // MARK: Refused or kept

    /// Runs a write with a hostile value: returns its result when the store took the value, `nil`
    /// when it refused it with a clear error. Any other failure fails the check.
    func admitted<T>(_ what: String, _ check: Check, _ write: () async throws -> T) async throws -> T? {
        do {
            return try await write()
        } catch let failure as ConformanceFailure {
            throw failure
        } catch let error as SuretyError {
            try check.that(error.code != .storeUnavailable && error.code != .storeCorrupt,
                           "\(what): the caller's bad input was refused as \(error.code), which blames the store: \(error.message)")
            try check.that(!error.message.isEmpty, "\(what): refused as \(error.code) without a message")
            return nil
        } catch {
            try check.fail("\(what): failed with \(type(of: error)) instead of a SuretyError with a code: \(error)")
        }
    }

    /// The newest job's id: unchanged by a write that wrote nothing (read without a filter,
    /// which could hold the hostile value).
    static func newest(_ store: any OperatedStore) async throws -> JobID? {
        try await store.jobs(JobFilter(limit: 1)).first?.id
    }

    /// A normal job still enqueues, claims and completes.
    func stillWorks(_ store: any OperatedStore, _ check: Check, after what: String) async throws {
        let probe = "hostile-probe"
        let id = try await store.enqueue([Fixtures.job(queue: probe, payload: #"{"probe":true}"#)])[0].id
        let claimed = try await Fixtures.claim(store, queues: [probe])
        try check.that(claimed.map(\.id) == [id], "after \(what): a normal job is claimable, got \(claimed.map(\.id)) for \(id)")
        let done = try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        try check.that(done == [.applied], "after \(what): a normal job completes, got \(done)")
        let record = try await store.job(id)
        try check.that(record?.state == .completed, "after \(what): the normal job is completed, got \(String(describing: record?.state))")
    }

    // MARK: Job fields

    /// One field of a job: how a job carries the value, where it is claimed, and whether a
    /// stored record and a claim hold it exactly (`nil`) or not (what differs).
    struct JobField {
        var name: String
        var make: (_ value: String, _ queue: String) -> NewJob
        var claimQueue: (_ value: String, _ queue: String) -> String = { _, queue in queue }
        var filter: ((_ value: String, _ queue: String) -> JobFilter)?
        var stored: (_ record: JobRecord, _ value: String) -> String?
        var claimed: ((_ job: ClaimedJob, _ value: String) -> String?)?
    }

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// The value inside a JSON object, as `JobQueue` encodes a payload.
    static func jsonObject(_ value: String) -> String {
        String(decoding: (try? jsonEncoder.encode(["value": value])) ?? Data("{}".utf8), as: UTF8.self)
    }

    static var jobFields: [JobField] {
        func mismatch(_ what: String, _ got: String?, _ value: String) -> String? {
            identical(got, value) ? nil : "\(what) reads back as \(preview(got))"
        }
        return [
            JobField(name: "payload (raw text)", make: { v, q in Fixtures.job(queue: q, payload: v) },
                     stored: { mismatch("the payload", $0.payload, $1) }, claimed: { mismatch("the claimed payload", $0.payload, $1) }),
            JobField(name: "payload (JSON as the client encodes it)", make: { v, q in Fixtures.job(queue: q, payload: jsonObject(v)) },
                     stored: { mismatch("the payload", $0.payload, jsonObject($1)) }, claimed: { mismatch("the claimed payload", $0.payload, jsonObject($1)) }),
            JobField(name: "job type", make: { v, q in Fixtures.job(v, queue: q) }, filter: { v, q in JobFilter(queues: [q], types: [v]) },
                     stored: { mismatch("the type", $0.type, $1) }, claimed: { mismatch("the claimed type", $0.type, $1) }),
            JobField(name: "queue name", make: { v, _ in Fixtures.job(queue: v) }, claimQueue: { v, _ in v }, filter: { v, _ in JobFilter(queues: [v]) },
                     stored: { mismatch("the queue", $0.queue, $1) }, claimed: { mismatch("the claimed queue", $0.queue, $1) }),
            JobField(name: "tag", make: { v, q in Fixtures.job(queue: q, tags: [v, "plain"]) }, filter: { v, q in JobFilter(queues: [q], tag: v) },
                     stored: { identical($0.tags, [$1, "plain"]) ? nil : "the tags read back as \(preview($0.tags))" },
                     claimed: { identical($0.tags, [$1, "plain"]) ? nil : "the claimed tags read back as \(preview($0.tags))" }),
            JobField(name: "correlation key", make: { v, q in Fixtures.job(queue: q, correlation: [v: "v", "plain": "p"]) },
                     filter: { v, q in JobFilter(queues: [q], correlation: [v: "v"]) },
                     stored: { identical($0.correlation, [$1: "v", "plain": "p"]) ? nil : "the correlation reads back as \(preview($0.correlation))" },
                     claimed: { identical($0.correlation, [$1: "v", "plain": "p"]) ? nil : "the claimed correlation reads back as \(preview($0.correlation))" }),
            JobField(name: "correlation value", make: { v, q in Fixtures.job(queue: q, correlation: ["k": v]) },
                     filter: { v, q in JobFilter(queues: [q], correlation: ["k": v]) },
                     stored: { identical($0.correlation, ["k": $1]) ? nil : "the correlation reads back as \(preview($0.correlation))" },
                     claimed: { identical($0.correlation, ["k": $1]) ? nil : "the claimed correlation reads back as \(preview($0.correlation))" }),
            JobField(name: "unique key", make: { v, q in Fixtures.job(queue: q, key: v) },
                     stored: { mismatch("the unique key", $0.uniqueKey, $1) }),
            JobField(name: "partition key", make: { v, q in Fixtures.job(queue: q, partition: v) },
                     stored: { mismatch("the partition key", $0.partitionKey, $1) }),
        ]
    }

    func hostileJobField(_ store: any OperatedStore, _ check: Check, _ fieldIndex: Int) async throws {
        let field = Self.jobFields[fieldIndex]
        for (valueIndex, value) in Self.hostileValues.enumerated() {
            let what = "\(field.name) with \(value.label)"
            let queue = "hostile-field\(fieldIndex)-value\(valueIndex)"
            try await hostileJob(store, check, field: field, value: value.text, queue: queue, what: what)
            try await hostileBatch(store, check, field: field, value: value.text, queue: queue + "-batch", what: what)
            try await stillWorks(store, check, after: what)
        }
    }

    /// Canonically equivalent texts with different bytes are different values: a unique key of
    /// `é` (one scalar) does not hold `e\u{301}`, and a claim of one queue does not take the
    /// other's jobs (SQL compares bytes; Swift's `==` would call them equal).
    func hostileEquivalentNames(_ store: any OperatedStore, _ check: Check) async throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let first = try await store.enqueue([Fixtures.job(queue: composed, key: composed)])[0]
        let second = try await store.enqueue([Fixtures.job(queue: decomposed, key: decomposed)])[0]
        try check.that(first.inserted && second.inserted && first.id != second.id,
                       "unique keys that are canonically equivalent but differ in bytes are different keys")
        let claimed = try await Fixtures.claim(store, queues: [decomposed])
        try check.that(claimed.map(\.id) == [second.id], "a claim of one queue name takes only its own jobs, not a canonically equivalent name's, got \(claimed.map(\.id))")
        try check.that(claimed.allSatisfy { Self.identical($0.queue, decomposed) }, "the claimed queue name keeps its bytes")
    }

    /// One job carrying the value: refused with nothing written, or stored, filtered, claimed
    /// and completed with the value intact.
    func hostileJob(_ store: any OperatedStore, _ check: Check, field: JobField, value: String, queue: String, what: String) async throws {
        let claimQueue = field.claimQueue(value, queue)
        let before = try await Self.newest(store)
        guard let results = try await admitted("enqueue of a job with a \(what)", check, { try await store.enqueue([field.make(value, queue)]) }) else {
            let after = try await Self.newest(store)
            try check.that(after == before, "a refused job with a \(what) wrote nothing, found job \(String(describing: after))")
            return
        }
        try check.that(results.count == 1 && results[0].inserted, "a job with a \(what) is inserted")
        let id = results[0].id
        guard let record = try await store.job(id) else { try check.fail("the job with a \(what) is readable") }
        if let difference = field.stored(record, value) { try check.fail("a job with a \(what): \(difference)") }
        if let filter = field.filter?(value, queue) {
            let found = try await store.jobs(filter).map(\.id)
            try check.that(found == [id], "a filter on the \(what) finds the job, got \(found)")
        }
        if field.name == "unique key" {
            let again = try await store.enqueue([field.make(value, queue)])[0]
            try check.that(!again.inserted && again.id == id, "a \(what) is held: a second enqueue returns job \(id), got \(again)")
            let other = try await admitted("enqueue of a job with a longer \(what)", check, { try await store.enqueue([field.make(value + "2", queue)]) })
            if let other {
                try check.that(other[0].inserted && other[0].id != id, "a unique key that differs only after the hostile part is another key (\(what))")
                _ = try await store.cancel([other[0].id], action: Fixtures.operatorAction("tidy up"))
            }
        }
        let claimed = try await Fixtures.claim(store, queues: [claimQueue])
        guard claimed.count == 1, claimed[0].id == id else {
            try check.fail("the job with a \(what) is claimable from its queue, got \(claimed.map(\.id)) for \(id)")
        }
        if let difference = field.claimed?(claimed[0], value) { try check.fail("a claimed job with a \(what): \(difference)") }
        let done = try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        try check.that(done == [.applied], "the job with a \(what) completes, got \(done)")
    }

    /// A batch of a normal job, one with the value and another normal job: all three written, or
    /// none.
    func hostileBatch(_ store: any OperatedStore, _ check: Check, field: JobField, value: String, queue: String, what: String) async throws {
        let hostile = field.make(value, queue)
        let batch = [Fixtures.job(queue: queue), hostile, Fixtures.job(queue: queue)]
        let before = try await Self.newest(store)
        guard let results = try await admitted("a batch enqueue holding a \(what)", check, { try await store.enqueue(batch) }) else {
            let after = try await Self.newest(store)
            try check.that(after == before, "a refused batch holding a \(what) wrote nothing, found job \(String(describing: after))")
            return
        }
        try check.that(results.count == 3 && results.allSatisfy(\.inserted), "a batch holding a \(what) inserts all three jobs, got \(results)")
        let stored = try await store.jobs(JobFilter(queues: [queue], limit: 10)).count
        try check.that(stored == (field.name == "queue name" ? 2 : 3), "a batch holding a \(what) is all written, found \(stored) jobs in its queue")
        guard let record = try await store.job(results[1].id) else { try check.fail("the batch's job with a \(what) is readable") }
        if let difference = field.stored(record, value) { try check.fail("the batch's job with a \(what): \(difference)") }
        _ = try await store.cancel(results.map(\.id), action: Fixtures.operatorAction("tidy up"))
    }

    // MARK: Worker ids, error texts, operator actions

    func hostileWorkerIDs(_ store: any OperatedStore, _ check: Check) async throws {
        for (index, value) in Self.hostileValues.enumerated() {
            let what = "worker id with \(value.label)"
            let queue = "hostile-worker-\(index)"
            let id = try await store.enqueue([Fixtures.job(queue: queue, maxAttempts: 2)])[0].id
            guard let claimed = try await admitted("a claim by a \(what)", check, { try await Fixtures.claim(store, queues: [queue], worker: value.text) }) else {
                let record = try await store.job(id)
                try check.that(record?.state == .available, "a refused claim by a \(what) leaves the job available, got \(String(describing: record?.state))")
                try await stillWorks(store, check, after: what)
                continue
            }
            try check.that(claimed.map(\.id) == [id], "a \(what) claims the job")
            let running = try await store.job(id)
            try check.that(Self.identical(running?.attemptedBy, value.text), "a claim by a \(what): attempted_by reads back as \(Self.preview(running?.attemptedBy))")
            let finish = Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .failed, next: .retry(at: Fixtures.t0.addingTimeInterval(5)),
                                     error: Fixtures.boom, worker: value.text)
            if let done = try await admitted("a finish by a \(what)", check, { try await store.finish([finish]) }) {
                try check.that(done == [.applied], "a finish by a \(what) applies, got \(done)")
                let attempts = try await store.attempts(of: id)
                try check.that(attempts.count == 1 && Self.identical(attempts[0].worker, value.text),
                               "a finish by a \(what): the attempt's worker reads back as \(Self.preview(attempts.first?.worker))")
            }
            try await stillWorks(store, check, after: what)
        }
    }

    func hostileErrorTexts(_ store: any OperatedStore, _ check: Check) async throws {
        for (index, value) in Self.hostileValues.enumerated() {
            let what = "error type and message with \(value.label)"
            let queue = "hostile-error-\(index)"
            let id = try await store.enqueue([Fixtures.job(queue: queue, maxAttempts: 3)])[0].id
            // A retry first (a history row), then the inbox (the job's last error).
            let error = AttemptError(type: value.text, message: value.text, errorClass: .transient)
            for (attempt, next) in [(1, NextState.retry(at: Fixtures.t0)), (2, NextState.dead(.permanentError))] {
                let claimed = try await Fixtures.claim(store, queues: [queue])
                try check.that(claimed.map(\.id) == [id], "the job for the \(what) is claimable for attempt \(attempt)")
                let finish = Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .failed, next: next, error: error)
                guard let done = try await admitted("a finish with an \(what)", check, { try await store.finish([finish]) }) else {
                    let record = try await store.job(id)
                    try check.that(record?.state == .running, "a refused finish with an \(what) leaves the job running under its lease, got \(String(describing: record?.state))")
                    _ = try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .failed, next: next, error: Fixtures.boom)])
                    break
                }
                try check.that(done == [.applied], "a finish with an \(what) applies, got \(done)")
            }
            let record = try await store.job(id)
            let attempts = try await store.attempts(of: id)
            if record?.state == .dead {
                try check.that(Self.identical(record?.lastError?.type, error.type) && Self.identical(record?.lastError?.message, error.message),
                               "an \(what): the last error reads back as \(Self.preview(record?.lastError?.type)) / \(Self.preview(record?.lastError?.message)), recorded \(Self.preview(error.message))")
                try check.that(attempts.count == 2 && attempts.allSatisfy { Self.identical($0.error?.type, error.type) && Self.identical($0.error?.message, error.message) },
                               "an \(what): the attempt history reads back as \(attempts.map { Self.preview($0.error?.message) })")
                if !value.text.utf8.contains(0) {
                    try check.that(value.text.count > AttemptError.maximumMessageLength || Self.identical(error.message, value.text),
                                   "an \(what) that fits is recorded as it is")
                }
                let filtered = try await store.jobs(JobFilter(queues: [queue], deadReason: .permanentError)).map(\.id)
                try check.that(filtered == [id], "the dead job with an \(what) is listed in the inbox, got \(filtered)")
            }
            try await stillWorks(store, check, after: what)
        }
    }

    func hostileOperatorActions(_ store: any OperatedStore, _ check: Check) async throws {
        for (index, value) in Self.hostileValues.enumerated() {
            let what = "operator actor and reason with \(value.label)"
            let queue = "hostile-operator-\(index)"
            guard let action = try await admitted("an \(what)", check, { try OperatorAction(actor: value.text, reason: value.text, at: Fixtures.t0.addingTimeInterval(100)) }) else {
                continue
            }
            let ids = try await store.enqueue([Fixtures.job(queue: queue, maxAttempts: 1), Fixtures.job(queue: queue, maxAttempts: 1), Fixtures.job(queue: queue)]).map(\.id)
            let claimed = try await Fixtures.claim(store, limit: 2, queues: [queue])
            try check.that(Set(claimed.map(\.id)) == Set(ids.prefix(2)), "two jobs for the \(what) are claimable")
            _ = try await store.finish(claimed.map { Fixtures.finish($0, at: Fixtures.t0.addingTimeInterval(1), outcome: .failed, next: .dead(.permanentError), error: Fixtures.boom) })
            let operations: [(String, JobID, @Sendable () async throws -> BulkResult)] = [
                ("requeue", ids[0], { try await store.requeue([ids[0]], action: action) }),
                ("discard", ids[1], { try await store.discard([ids[1]], action: action) }),
                ("cancel", ids[2], { try await store.cancel([ids[2]], action: action) }),
            ]
            for (name, id, operation) in operations {
                guard let result = try await admitted("a \(name) by an \(what)", check, operation) else {
                    let audit = try await store.audit(of: id)
                    try check.that(audit.isEmpty, "a refused \(name) by an \(what) wrote no audit row")
                    continue
                }
                try check.that(result.changed == [id], "a \(name) by an \(what) applies, got \(result)")
                let audit = try await store.audit(of: id)
                try check.that(audit.count == 1 && audit[0].action == name && Self.identical(audit[0].actor, action.actor) && Self.identical(audit[0].reason, action.reason),
                               "a \(name) by an \(what): the audit reads back as \(audit.map { "\($0.action) \(Self.preview($0.actor)) \(Self.preview($0.reason))" })")
                let note = try await store.job(id)?.note
                try check.that(note.map { $0.utf8.count >= action.reason.utf8.count && Self.identical(String($0.utf8.suffix(action.reason.utf8.count)), action.reason) } == true,
                               "a \(name) by an \(what): the job's note ends with the reason, got \(Self.preview(note))")
            }
            try await stillWorks(store, check, after: what)
        }
    }

    // MARK: Effect ledger

    func hostileEffects(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let ledger = anyStore as? any EffectLedgerStore & OperatedStore else { return check.skip("the 'effect ledger' section", lacking: .effectLedger) }
        for (index, value) in Self.hostileValues.enumerated() {
            let queue = "hostile-effect-\(index)"
            let id = try await ledger.enqueue([Fixtures.job(queue: queue)])[0].id
            let claimed = try await Fixtures.claim(ledger, queues: [queue])
            try check.that(claimed.map(\.id) == [id], "the job for effects with \(value.label) is claimable")
            let lease = claimed[0].lease
            let keys = [
                ("effect name", EffectKey(tenant: Fixtures.acme, jobID: id, name: value.text, key: "k")),
                ("effect key", EffectKey(tenant: Fixtures.acme, jobID: id, name: "charge", key: value.text)),
            ]
            var expected: [EffectRecord] = []
            for (part, key) in keys {
                let what = "\(part) with \(value.label)"
                guard let begun = try await admitted("beginning an effect with an \(what)", check, { try await ledger.beginEffect(key, lease: lease, attempt: 1, worker: "w1", now: Fixtures.t0) }) else {
                    continue
                }
                try check.that(begun == .started, "an effect with an \(what) starts, got \(begun)")
                // A key that differs only after the hostile part is another effect.
                var longer = key
                if part == "effect name" { longer.name += "2" } else { longer.key += "2" }
                if let other = try await admitted("beginning an effect with a longer \(what)", check, { try await ledger.beginEffect(longer, lease: lease, attempt: 1, worker: "w1", now: Fixtures.t0) }) {
                    try check.that(other == .started, "an effect whose \(part) differs only after the hostile part is another effect, got \(other)")
                    expected.append(EffectRecord(key: longer, state: .started, result: nil, attempt: 1, worker: "w1", startedAt: Fixtures.t0, confirmedAt: nil))
                }
                for result in [value.text, Self.jsonObject(value.text)] {
                    let confirmed: Void? = try await admitted("confirming an effect with an \(what) and a result with \(value.label)", check, {
                        try await ledger.confirmEffect(key, result: result, now: Fixtures.t0.addingTimeInterval(1))
                    })
                    if confirmed != nil {
                        expected.removeAll { $0.key == key && Self.identical($0.key.name, key.name) && Self.identical($0.key.key, key.key) }
                        expected.append(EffectRecord(key: key, state: .confirmed, result: result, attempt: 1, worker: "w1", startedAt: Fixtures.t0, confirmedAt: Fixtures.t0.addingTimeInterval(1)))
                        break
                    }
                }
                if !expected.contains(where: { Self.identical($0.key.name, key.name) && Self.identical($0.key.key, key.key) }) {
                    expected.append(EffectRecord(key: key, state: .started, result: nil, attempt: 1, worker: "w1", startedAt: Fixtures.t0, confirmedAt: nil))
                }
                let again = try await ledger.beginEffect(key, lease: lease, attempt: 1, worker: "w1", now: Fixtures.t0.addingTimeInterval(2))
                guard case .existing(let seen) = again else { try check.fail("an effect with an \(what) is found again by its key, got \(again)") }
                try check.that(Self.identical(seen.key.name, key.name) && Self.identical(seen.key.key, key.key), "an effect with an \(what) is found under its own key")
            }
            let records = try await ledger.effects(of: id)
            for want in expected {
                let found = records.filter { Self.identical($0.key.name, want.key.name) && Self.identical($0.key.key, want.key.key) }
                try check.that(found.count == 1, "the effect \(Self.preview(want.key.name))/\(Self.preview(want.key.key)) is listed once, found \(found.count) among \(records.count)")
                try check.that(found[0].state == want.state && Self.identical(found[0].result, want.result),
                               "the effect \(Self.preview(want.key.name))/\(Self.preview(want.key.key)) reads back as \(found[0].state) with result \(Self.preview(found[0].result)), expected \(want.state) with \(Self.preview(want.result))")
            }
            try check.that(records.count == expected.count, "effects with \(value.label): \(records.count) records for \(expected.count) effects")
            let done = try await ledger.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(3), outcome: .succeeded, next: .completed)])
            try check.that(done == [.applied], "the job with effects with \(value.label) completes, got \(done)")
            try await stillWorks(ledger, check, after: "effects with \(value.label)")
        }
    }

    // MARK: Schedules and workflows

    func hostileSchedules(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any ScheduleStore & OperatedStore else { return check.skip("the 'schedules' section", lacking: .schedules) }
        for value in Self.hostileValues {
            let what = "schedule with \(value.label)"
            let definition = ScheduleDefinition(name: value.text, expression: "@hourly", timeZone: "UTC", jobType: value.text, queue: value.text,
                                                tenant: Fixtures.acme, overlap: "skip", missed: "run_latest")
            guard try await admitted("saving a \(what) in its name, type and queue", check, { try await store.saveSchedules([definition], now: Fixtures.t0) }) != nil else {
                let records = try await store.schedules()
                try check.that(!records.contains { Self.identical($0.definition.name, value.text) }, "a refused \(what) was not saved")
                try await stillWorks(store, check, after: what)
                continue
            }
            func stored() async throws -> ScheduleRecord {
                let found = try await store.schedules().filter { Self.identical($0.definition.name, value.text) }
                try check.that(found.count == 1, "a saved \(what) is listed once under its name, found \(found.count)")
                return found[0]
            }
            var record = try await stored()
            try check.that(Self.identical(record.definition.jobType, value.text) && Self.identical(record.definition.queue, value.text),
                           "a \(what): type and queue read back as \(Self.preview(record.definition.jobType)) / \(Self.preview(record.definition.queue))")
            if let action = try? OperatorAction(actor: value.text, reason: value.text, at: Fixtures.t0.addingTimeInterval(10)) {
                if let paused = try await admitted("pausing a \(what) by an actor with that reason", check, { try await store.setSchedulePaused(value.text, paused: true, action: action) }) {
                    try check.that(paused?.paused == true && Self.identical(paused?.changedBy, action.actor) && Self.identical(paused?.changeReason, action.reason),
                                   "pausing a \(what): who and why read back as \(Self.preview(paused?.changedBy)) / \(Self.preview(paused?.changeReason))")
                }
            }
            if try await admitted("recording a slot of a \(what)", check, { try await store.recordScheduleSlot(value.text, slot: Fixtures.t0.addingTimeInterval(3600), jobID: JobID(1)) }) != nil {
                record = try await stored()
                try check.that(record.lastSlot == Fixtures.t0.addingTimeInterval(3600), "a slot of a \(what) is recorded under its name")
            }
            try await stillWorks(store, check, after: what)
        }
    }

    func hostileWorkflows(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any WorkflowStore & OperatedStore else { return check.skip("the 'workflows' section", lacking: .workflows) }
        for (index, value) in Self.hostileValues.enumerated() {
            let what = "workflow with \(value.label) in its name, unique key and a step's name"
            let queue = "hostile-workflow-\(index)"
            let template = WorkflowJobTemplate(Fixtures.job("wf.hostile", queue: queue))
            let workflow = NewWorkflow(name: value.text, tenant: Fixtures.acme, uniqueKey: value.text, createdAt: Fixtures.t0, steps: [
                NewWorkflow.Step(name: value.text, parents: [], isCompensation: false, template: template),
                NewWorkflow.Step(name: "after", parents: [value.text], isCompensation: false, template: template),
            ])
            guard let enqueued = try await admitted("enqueueing a \(what)", check, { try await store.enqueueWorkflow(workflow) }) else {
                let written = try await store.jobs(JobFilter(queues: [queue])).count
                try check.that(written == 0, "a refused \(what) wrote no step job, found \(written)")
                try await stillWorks(store, check, after: what)
                continue
            }
            try check.that(enqueued.inserted, "a \(what) is inserted")
            guard let record = try await store.workflow(enqueued.id) else { try check.fail("a \(what) is readable") }
            try check.that(Self.identical(record.name, value.text) && Self.identical(record.uniqueKey, value.text),
                           "a \(what): name and unique key read back as \(Self.preview(record.name)) / \(Self.preview(record.uniqueKey))")
            try check.that(record.steps.count == 2 && Self.identical(record.steps[0].name, value.text) && Self.identical(record.steps[1].parents, [value.text]),
                           "a \(what): the steps read back as \(record.steps.map { "\(Self.preview($0.name)) after \(Self.preview($0.parents))" })")
            let again = try await store.enqueueWorkflow(workflow)
            try check.that(!again.inserted && again.id == enqueued.id, "a \(what) holds its unique key")
            let listed = try await store.workflows(WorkflowFilter(name: value.text)).map(\.id)
            try check.that(listed == [enqueued.id], "a \(what) is listed by its name, got \(listed)")

            let claimed = try await Fixtures.claim(store, queues: [queue])
            try check.that(claimed.count == 1, "the first step of a \(what) is claimable, got \(claimed.count)")
            let located = try await store.workflowStep(ofJob: claimed[0].id)
            try check.that(Self.identical(located?.step, value.text), "the first step's job of a \(what) finds its step, got \(Self.preview(located?.step))")
            let job = try await store.job(claimed[0].id)
            try check.that(Self.identical(job?.correlation[WorkflowJobTemplate.stepKey], value.text), "the first step's job of a \(what) carries the step's name")
            var expectedResult: String?
            for result in [value.text, Self.jsonObject(value.text)] {
                if let set = try await admitted("a step result with \(value.label)", check, { try await store.setStepResult(result, lease: claimed[0].lease) }) {
                    try check.that(set == .applied, "a step result with \(value.label) is stored, got \(set)")
                    expectedResult = result
                    break
                }
            }
            let done = try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
            try check.that(done == [.applied], "the first step of a \(what) completes, got \(done)")
            let after = try await store.workflow(enqueued.id)
            try check.that(Self.identical(after?.steps.first?.result, expectedResult),
                           "a step result with \(value.label) reads back as \(Self.preview(after?.steps.first?.result)), expected \(Self.preview(expectedResult))")
            try check.that(after?.steps.last?.state == .active, "the step after the hostile-named parent is released, got \(String(describing: after?.steps.last?.state))")
            let next = try await Fixtures.claim(store, at: Fixtures.t0.addingTimeInterval(2), queues: [queue])
            try check.that(next.count == 1, "the step after the parent of a \(what) is claimable, got \(next.count)")
            _ = try await store.finish(next.map { Fixtures.finish($0, at: Fixtures.t0.addingTimeInterval(2), outcome: .succeeded, next: .completed) })
            try await stillWorks(store, check, after: what)
        }
        // A later step whose job carries hostile values: refused when the workflow is enqueued,
        // or released when its parent completes; never a failure of the parent's outcome.
        for (index, value) in Self.hostileValues.enumerated() {
            let variants: [(String, NewJob)] = [
                ("type, queue, payload, tags and correlation",
                 Fixtures.job(value.text, queue: value.text, payload: Self.jsonObject(value.text), tags: [value.text], correlation: ["k": value.text])),
                ("tags, correlation and partition key",
                 Fixtures.job("wf.child", queue: "hostile-release-\(index)-child", tags: [value.text], correlation: ["k": value.text], partition: value.text)),
            ]
            for (variant, (part, child)) in variants.enumerated() {
                let what = "a workflow step's job with \(value.label) in its \(part)"
                let queue = "hostile-release-\(index)-\(variant)"
                let workflow = NewWorkflow(name: "release-\(index)-\(variant)", tenant: Fixtures.acme, createdAt: Fixtures.t0, steps: [
                    NewWorkflow.Step(name: "root", parents: [], isCompensation: false, template: WorkflowJobTemplate(Fixtures.job("wf.root", queue: queue))),
                    NewWorkflow.Step(name: "hostile", parents: ["root"], isCompensation: false, template: WorkflowJobTemplate(child)),
                ])
                guard let enqueued = try await admitted("enqueueing \(what)", check, { try await store.enqueueWorkflow(workflow) }) else {
                    try await stillWorks(store, check, after: what)
                    continue
                }
                try await releases(store, check, workflow: enqueued.id, rootQueue: queue, child: child, what: what)
            }
        }
    }

    /// Completes the root of a two-step workflow: the outcome is recorded, and the child's job
    /// is released with its values intact.
    func releases(_ store: any WorkflowStore & OperatedStore, _ check: Check, workflow: WorkflowID, rootQueue: String, child: NewJob, what: String) async throws {
        let claimed = try await Fixtures.claim(store, queues: [rootQueue])
        try check.that(claimed.count == 1, "the root of \(what) is claimable")
        let done = try await admitted("completing the parent of \(what)", check, {
            try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        })
        try check.that(done ?? [] == [.applied], "the parent of \(what) completes (its child was accepted at enqueue), got \(String(describing: done))")
        let record = try await store.workflow(workflow)
        guard let jobID = record?.steps.last?.jobID, let job = try await store.job(jobID) else {
            try check.fail("\(what) is released when its parent completes, got \(String(describing: record?.steps.last?.state))")
        }
        try check.that(Self.identical(job.queue, child.queue) && Self.identical(job.type, child.type) && Self.identical(job.tags, child.tags)
                       && Self.identical(job.correlation["k"], child.correlation["k"]) && Self.identical(job.payload, child.payload)
                       && Self.identical(job.partitionKey, child.partitionKey),
                       "\(what) is released with its values intact, got queue \(Self.preview(job.queue)), tags \(Self.preview(job.tags)), partition key \(Self.preview(job.partitionKey))")
        _ = try await store.cancel([jobID], action: Fixtures.operatorAction("tidy up"))
        try await stillWorks(store, check, after: what)
    }

    // MARK: Queue limits

    func hostileQueueLimits(_ anyStore: any OperatedStore, _ check: Check) async throws {
        guard let store = anyStore as? any FlowControlStore & OperatedStore else { return check.skip("the 'queue limits' section", lacking: .flowControl) }
        for value in Self.hostileValues {
            let what = "queue limits for a queue name with \(value.label)"
            guard let limits = try await admitted(what, check, { try QueueLimits(queue: value.text, concurrency: 1) }) else { continue }
            guard try await admitted("setting \(what)", check, { try await store.setQueueLimits(limits) }) != nil else {
                let all = try await store.queueLimits()
                try check.that(!all.contains { Self.identical($0.queue, value.text) }, "refused \(what) were not saved")
                try await stillWorks(store, check, after: what)
                continue
            }
            let found = try await store.queueLimits().filter { Self.identical($0.queue, value.text) }
            try check.that(found.count == 1 && found[0].concurrency == 1, "\(what) read back under the queue's name, found \(found.count)")
            // The limit holds for that queue: of two jobs, one is claimed.
            let ids = try await store.enqueue([Fixtures.job(queue: value.text), Fixtures.job(queue: value.text)]).map(\.id)
            let claimed = try await Fixtures.claim(store, queues: [value.text])
            try check.that(claimed.count == 1, "\(what) apply to that queue: one of two jobs claimed, got \(claimed.count)")
            let removed = try await store.removeQueueLimits(queue: value.text)
            try check.that(removed, "\(what) are removed by the queue's name")
            _ = try await store.finish(claimed.map { Fixtures.finish($0, at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed) })
            _ = try await store.cancel(ids, action: Fixtures.operatorAction("tidy up"))
            try await stillWorks(store, check, after: what)
        }
    }

    // MARK: The client

    /// A job whose payload carries one text.
    struct HostileEcho: Job {
        static let name = "conformance.hostile-echo"
        var text: String
        func run(_ context: JobContext) async throws {}
    }

    /// Through ``JobQueue``: a job's own field (encoded as JSON), a payload given as JSON text
    /// with the value raw inside a string, and every option that takes text.
    func hostileClient(_ store: any OperatedStore, _ check: Check) async throws {
        var logger = Logger(label: "surety.conformance")
        logger.logLevel = .warning
        let client = JobQueue(store: store, registry: JobRegistry([HostileEcho.self]), clock: TestClock(now: Fixtures.t0), logger: logger)
        for (index, value) in Self.hostileValues.enumerated() {
            let queue = "hostile-client-\(index)"
            // A job's field: JSON escapes every control character, so the payload is storable.
            let what = "a job field with \(value.label)"
            if let enqueued = try await admitted("enqueue of \(what)", check, { try await client.enqueue(HostileEcho(text: value.text), tenant: Fixtures.acme, options: EnqueueOptions(queue: queue)) }) {
                let claimed = try await Fixtures.claim(store, queues: [queue])
                try check.that(claimed.map(\.id) == [enqueued.id], "the job with \(what) is claimable")
                let decoded = try? JSONDecoder().decode(HostileEcho.self, from: Data(claimed[0].payload.utf8))
                try check.that(Self.identical(decoded?.text, value.text), "\(what) decodes back as \(Self.preview(decoded?.text))")
                _ = try await store.finish([Fixtures.finish(claimed[0], at: Fixtures.t0.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
            } else {
                let written = try await store.jobs(JobFilter(queues: [queue])).count
                try check.that(written == 0, "a refused enqueue of \(what) wrote nothing")
            }
            // JSON text with the value raw inside a string (control characters unescaped).
            let raw = #"{"text":""# + value.text + #""}"#
            let rawWhat = "a JSON payload with \(value.label) raw inside a string"
            if let enqueued = try await admitted("enqueue of \(rawWhat)", check, { try await client.enqueue(type: HostileEcho.name, payload: raw, tenant: Fixtures.acme, options: EnqueueOptions(queue: queue + "-raw")) }) {
                let record = try await store.job(enqueued.id)
                try check.that(Self.identical(record?.payload, raw), "\(rawWhat) is stored as given, got \(Self.preview(record?.payload))")
                _ = try await store.cancel([enqueued.id], action: Fixtures.operatorAction("tidy up"))
            } else {
                let written = try await store.jobs(JobFilter(queues: [queue + "-raw"])).count
                try check.that(written == 0, "a refused enqueue of \(rawWhat) wrote nothing")
            }
            // A workflow through the client whose later step's options carry the value: refused
            // when enqueued, or released when the root completes.
            if let workflowStore = store as? any WorkflowStore & OperatedStore {
                let childOptions: [(String, EnqueueOptions)] = [
                    ("queue", EnqueueOptions(queue: value.text)),
                    ("tags and correlation", EnqueueOptions(queue: queue + "-child", tags: [value.text], correlation: ["k": value.text])),
                    ("partition key", EnqueueOptions(queue: queue + "-child", partitionKey: value.text)),
                ]
                for (variant, (part, options)) in childOptions.enumerated() {
                    let what = "a client workflow whose later step has \(value.label) in its \(part)"
                    let rootQueue = queue + "-root\(variant)"
                    var workflow = try Workflow("hostile-\(index)-\(variant)")
                    try workflow.step("root", HostileEcho(text: "root"), options: EnqueueOptions(queue: rootQueue))
                    try workflow.step("child", HostileEcho(text: value.text), after: ["root"], options: options)
                    guard let enqueued = try await admitted("enqueueing \(what)", check, { try await client.enqueue(workflow, tenant: Fixtures.acme) }) else {
                        try await stillWorks(store, check, after: what)
                        continue
                    }
                    let child = Fixtures.job(HostileEcho.name, queue: options.queue ?? "default", payload: try JobCoding.encode(HostileEcho(text: value.text)),
                                         tags: options.tags, correlation: options.correlation, partition: options.partitionKey)
                    try await releases(workflowStore, check, workflow: enqueued.id, rootQueue: rootQueue, child: child, what: what)
                }
            }
            // Every option that takes text, one at a time, on a batch of two jobs.
            let options: [(String, EnqueueOptions, (JobRecord) -> Bool)] = [
                ("queue", EnqueueOptions(queue: value.text), { Self.identical($0.queue, value.text) }),
                ("tag", EnqueueOptions(queue: queue, tags: [value.text]), { Self.identical($0.tags, [value.text]) }),
                ("correlation key", EnqueueOptions(queue: queue, correlation: [value.text: "v"]), { Self.identical($0.correlation, [value.text: "v"]) }),
                ("correlation value", EnqueueOptions(queue: queue, correlation: ["k": value.text]), { Self.identical($0.correlation, ["k": value.text]) }),
                ("unique key", EnqueueOptions(uniqueKey: value.text, queue: queue), { Self.identical($0.uniqueKey, value.text) }),
                ("partition key", EnqueueOptions(queue: queue, partitionKey: value.text), { Self.identical($0.partitionKey, value.text) }),
            ]
            for (name, option, faithful) in options {
                let what = "a \(name) option with \(value.label)"
                let before = try await Self.newest(store)
                guard let enqueued = try await admitted("enqueue of two jobs with \(what)", check, {
                    try await client.enqueue([HostileEcho(text: "1"), HostileEcho(text: "2")], tenant: Fixtures.acme, options: option)
                }) else {
                    let after = try await Self.newest(store)
                    try check.that(after == before, "a refused enqueue of two jobs with \(what) wrote neither, found job \(String(describing: after))")
                    try await stillWorks(store, check, after: "the client's \(what)")
                    continue
                }
                try check.that(enqueued.count == 2 && enqueued[0].inserted, "two jobs with \(what) are enqueued")
                for id in Set(enqueued.map(\.id)) {
                    guard let record = try await store.job(id) else { try check.fail("a job with \(what) is readable") }
                    try check.that(faithful(record), "a job with \(what) reads back with the value intact")
                }
                _ = try await store.cancel(Array(Set(enqueued.map(\.id))), action: Fixtures.operatorAction("tidy up"))
                try await stillWorks(store, check, after: "the client's \(what)")
            }
        }
    }

    // MARK: Bounded in time

    /// Runs `body`, failing the check when it has not finished within `limit` (a hung store
    /// fails the group instead of hanging the suite; the body is cancelled).
    static func within(_ limit: Duration, _ what: String, _ check: Check, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let deadline = Deadline()
        let group = check.group.rawValue
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            deadline.continuation.withLock { $0 = continuation }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, let continuation = deadline.continuation.withLock({ $0.take() }) else { return }
                deadline.work.withLock { $0 }?.cancel()
                continuation.resume(throwing: ConformanceFailure(group: group, check: "\(what) did not finish within \(limit)"))
            }
            deadline.work.withLock {
                $0 = Task {
                    let result: Result<Void, any Error>
                    do { try await body(); result = .success(()) } catch { result = .failure(error) }
                    timer.cancel()
                    deadline.continuation.withLock { $0.take() }?.resume(with: result)
                }
            }
        }
    }

    /// The state ``within(_:_:_:_:)`` shares between the body and its timer.
    final class Deadline: Sendable {
        let continuation = Mutex<CheckedContinuation<Void, any Error>?>(nil)
        let work = Mutex<Task<Void, Never>?>(nil)
    }
}
