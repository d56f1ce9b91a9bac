import Foundation
import Surety
import SuretyAlerts
import SuretySQLite
import Testing

/// Issue 17: hostile text through `surety`. What an argument can carry (every character but NUL,
/// at most 128 KiB per argument on Linux, bytes that are not UTF-8) is either refused with a
/// clear error that inserts nothing, or stored exactly; `jobs show --json` gives back the exact
/// value as valid JSON; text output shows control and bidirectional characters as visible escapes.
@Suite("HostileInputCLI: hostile text through the command line")
struct HostileInputCLITests {
    /// Every C0 control but NUL (an argument cannot hold it), and DEL.
    static let controls = "x" + String((UInt8(1)...0x1F).map { Character(Unicode.Scalar($0)) }) + "\u{7F}y"
    static let unicode = "👩🏽‍🚒 é e\u{301}\u{302} \u{202E}lave\u{202C} \u{2067}שלום\u{2069}\u{200F} \u{FEFF}\u{FFFD} \u{2028}\u{2029} \u{9B}2J"

    /// Characters no text output may print raw: C0 (but the layout's newlines), DEL, C1, and the
    /// bidirectional marks, embeddings, overrides and isolates that reorder what a terminal shows.
    static func unprintable(in text: String) -> [String] {
        text.unicodeScalars.filter { scalar in
            let v = scalar.value
            return (v < 0x20 && v != 0x0A) || (0x7F...0x9F).contains(v) || v == 0x061C || v == 0x200E || v == 0x200F
                || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029
        }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    /// A JSON string literal for `text`, as a caller would write it (every control escaped).
    static func jsonString(_ text: String) throws -> String {
        String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
    }

    /// `jobs show ID --json`'s job object.
    static func shownJob(_ id: JobID, _ url: String, in dir: TempDir) async throws -> [String: Any] {
        let shown = try await CLI.run(["jobs", "show", "\(id)", "--store", url, "--json"], in: dir, timeout: .seconds(60))
        #expect(shown.status == 0, "\(shown)")
        #expect(unprintable(in: shown.stdout).isEmpty, "--json printed \(unprintable(in: shown.stdout))")
        return try #require(try shown.json()["job"] as? [String: Any])
    }

    @Test("enqueue with control, bidirectional and combining characters in the payload and every text flag: stored exactly, --json exact, text escaped",
          .timeLimit(.minutes(3)), arguments: [("every C0 control but NUL, and DEL", controls), ("emoji, combining and bidirectional marks", unicode)])
    func controlCharactersInFlags(label: String, value: String) async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let payload = #"{"to":"a@b.example","subject":"# + (try Self.jsonString(value)) + "}"
        let result = try await CLI.run([
            "enqueue", "--store", url, "--type", "demo.email", "--payload", payload, "--tenant", "acme", "--json",
            "--queue", "q" + value, "--tag", "t" + value, "--correlation", "k" + value + "=v" + value,
            "--key", "u" + value, "--partition-key", "p" + value,
        ], in: dir, timeout: .seconds(60))
        // Each of these is a value the client takes (no NUL, within the length limits).
        #expect(result.status == 0, "\(label): \(result)")
        let id = try enqueuedID(result)
        let store = try await openStore(dir)
        let record = try #require(try await store.job(id))
        #expect(Self.same(record.queue, "q" + value) && Self.same(record.uniqueKey, "u" + value) && Self.same(record.partitionKey, "p" + value), "\(label)")
        #expect(record.tags.count == 1 && Self.same(record.tags[0], "t" + value), "\(label): tags \(record.tags)")
        #expect(record.correlation.count == 1 && record.correlation.first.map { Self.same($0.key, "k" + value) && Self.same($0.value, "v" + value) } == true, "\(label)")
        let subject = try JSONDecoder().decode([String: String].self, from: Data(record.payload.utf8))["subject"]
        #expect(Self.same(subject, value), "\(label): the payload's subject is stored exactly")

        let job = try await Self.shownJob(id, url, in: dir)
        #expect(Self.same(job["queue"] as? String, "q" + value), "\(label)")
        #expect(Self.same(job["unique_key"] as? String, "u" + value), "\(label)")
        #expect(Self.same((job["tags"] as? [String])?.first, "t" + value), "\(label)")
        #expect(Self.same((job["correlation"] as? [String: String])?["k" + value], "v" + value), "\(label)")
        #expect(Self.same((job["payload"] as? [String: Any])?["subject"] as? String, value), "\(label): --json shows the exact subject")

        for arguments in [["jobs", "show", "\(id)"], ["jobs", "list"], ["stats"]] {
            let text = try await CLI.run(arguments + ["--store", url], in: dir, timeout: .seconds(60))
            #expect(text.status == 0, "\(arguments): \(text)")
            let output = text.stdout + text.stderr
            #expect(Self.unprintable(in: output).isEmpty, "\(label): \(arguments) printed \(Self.unprintable(in: output)) raw")
        }
    }

    @Test("a payload with control characters raw inside a JSON string: a clear error that inserts nothing, or stored exactly", .timeLimit(.minutes(2)))
    func rawControlsInPayload() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        #expect(try await CLI.run(["migrate", "--store", url], in: dir).status == 0)
        let payload = #"{"to":"a@b.example","subject":""# + Self.controls + #""}"#
        let result = try await CLI.run(["enqueue", "--store", url, "--type", "demo.email", "--payload", payload, "--tenant", "acme", "--json"], in: dir, timeout: .seconds(60))
        let store = try await openStore(dir)
        if result.status == 0 {
            let record = try #require(try await store.job(try enqueuedID(result)))
            #expect(Self.same(record.payload, payload), "stored as given")
        } else {
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("payload does not decode as demo.email") && result.stderr.contains("[invalid_payload]"), "\(result)")
            #expect(Self.unprintable(in: result.stderr).isEmpty, "the error printed \(Self.unprintable(in: result.stderr)) raw")
            #expect(try await store.jobs(JobFilter()).isEmpty, "nothing inserted")
        }
    }

    @Test("a NUL written as \\u0000 in the payload is stored, shown as \\u0000 in --json and escaped in text", .timeLimit(.minutes(2)))
    func escapedNULInPayload() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let result = try await CLI.run(["enqueue", "--store", url, "--type", "demo.email", "--payload", #"{"to":"a@b.example","subject":"a\u0000b"}"#,
                                        "--tenant", "acme", "--json"], in: dir, timeout: .seconds(60))
        #expect(result.status == 0, "\(result)")
        let id = try enqueuedID(result)
        let job = try await Self.shownJob(id, url, in: dir)
        #expect(Self.same((job["payload"] as? [String: Any])?["subject"] as? String, "a\u{0}b"))
        let text = try await CLI.run(["jobs", "show", "\(id)", "--store", url], in: dir, timeout: .seconds(60))
        #expect(text.status == 0 && Self.unprintable(in: text.stdout).isEmpty && !text.stdout.unicodeScalars.contains("\u{0}"), "\(text)")
    }

    @Test("values near the largest an argument can carry (an 80 KiB tag, correlation value and payload field) are stored exactly", .timeLimit(.minutes(2)))
    func largeArguments() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        // Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN) before `surety` runs;
        // 1 MB values are covered by the next test, written through the library.
        let large = String(repeating: "0123456789abcdef\u{1B}", count: 4_800)
        let payload = #"{"to":"a@b.example","subject":"# + (try Self.jsonString(large)) + "}"
        let result = try await CLI.run(["enqueue", "--store", url, "--type", "demo.email", "--payload", payload, "--tenant", "acme",
                                        "--tag", large, "--correlation", "big=" + large, "--json"], in: dir, timeout: .seconds(60))
        #expect(result.status == 0, "\(result.status) \(result.stderr.prefix(2000))")
        let id = try enqueuedID(result)
        let job = try await Self.shownJob(id, url, in: dir)
        #expect(Self.same((job["payload"] as? [String: Any])?["subject"] as? String, large))
        #expect(Self.same((job["tags"] as? [String])?.first, large))
        #expect(Self.same((job["correlation"] as? [String: String])?["big"], large))
    }

    @Test("1 MB values in a stored job: jobs show --json returns them exactly, text output stays escaped and ends", .timeLimit(.minutes(3)))
    func megabyteValues() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let store = try await openStore(dir)
        let megabyte = String(repeating: "0123456789abcdef\u{1B}[2J\u{202E}", count: 1 << 20 / 22)
        let subject = String(repeating: "s", count: 1 << 20)
        let payload = #"{"to":"a@b.example","subject":"# + (try Self.jsonString(subject)) + "}"
        let now = Date()
        let id = try await store.enqueue([NewJob(
            type: "demo.email", queue: "email", priority: 2, tenant: try TenantID("acme"), payload: payload, runAt: now, enqueuedAt: now,
            maxAttempts: 1, tags: [megabyte], correlation: ["big": megabyte]
        )])[0].id
        let job = try await Self.shownJob(id, url, in: dir)
        #expect(Self.same((job["payload"] as? [String: Any])?["subject"] as? String, subject))
        #expect(Self.same((job["tags"] as? [String])?.first, megabyte))
        #expect(Self.same((job["correlation"] as? [String: String])?["big"], megabyte))
        for arguments in [["jobs", "show", "\(id)"], ["jobs", "list"]] {
            let text = try await CLI.run(arguments + ["--store", url], in: dir, timeout: .seconds(60))
            #expect(text.status == 0, "\(arguments): \(text.status) \(text.stderr.prefix(2000))")
            #expect(Self.unprintable(in: text.stdout).isEmpty, "\(arguments) printed \(Set(Self.unprintable(in: text.stdout))) raw")
        }
    }

    @Test("an argument that is not valid UTF-8 is refused with a usage error naming it, and nothing is inserted", .timeLimit(.minutes(2)))
    func invalidUTF8Arguments() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        #expect(try await CLI.run(["migrate", "--store", url], in: dir).status == 0)
        // A String cannot hold these bytes; the shell's printf writes them into the arguments.
        // Decoded, each bad sequence would become U+FFFD: the job would hold other text than
        // the one given, without a word.
        let enqueue = #"exec "$0" enqueue --store "$1" --type demo.email --tenant acme --json "#
        let cases: [(String, String)] = [
            ("the payload", enqueue + #"--payload "$(printf '{"to":"a@b.example","subject":"s\377"}')""#),
            ("a tag", enqueue + #"--payload "$2" --tag "$(printf 't\303(')""#),
            ("a correlation id", enqueue + #"--payload "$2" --correlation "$(printf 'k=v\355\240\200')""#),
        ]
        for (what, script) in cases {
            let result = try await Self.runShell(script, arguments: [try CLI.executable(), url, #"{"to":"a@b.example","subject":"s"}"#], in: dir)
            #expect(result.status == 2, "\(what): \(result)")
            #expect(result.stderr.contains("not valid UTF-8"), "\(what): \(result)")
            #expect(result.stdout.isEmpty, "\(what)")
        }
        let store = try await openStore(dir)
        #expect(try await store.jobs(JobFilter()).isEmpty, "nothing inserted")
    }

    // MARK: Helpers

    static func same(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.utf8.elementsEqual(b.utf8)
        default: false
        }
    }

    /// Runs `/bin/sh -c script` with `arguments` as $0, $1, … in `dir`, bounded in time.
    static func runShell(_ script: String, arguments: [String], in dir: TempDir, timeout: Duration = .seconds(60)) async throws -> CLIResult {
        let process = Process()
        let name = UUID().uuidString
        let (stdoutPath, stderrPath) = (dir.file("\(name).stdout"), dir.file("\(name).stderr"))
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        var environment = ProcessInfo.processInfo.environment
        environment["SURETY_STORE"] = nil
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        let exit = ProcessExit(of: process)
        try process.run()
        guard let outcome = await exit.wait(timeout: timeout) else {
            process.terminate()
            throw CLITestError("the shell did not exit within \(timeout)")
        }
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return CLIResult(status: outcome.status, stdout: read(stdoutPath), stderr: read(stderrPath))
    }
}
