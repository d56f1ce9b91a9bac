import Foundation
import GRDB
import Surety
import SuretySQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Bad input gives clear errors")
struct BadInputTests {
    @Test("enqueue of an unknown type: exit 1, names the type, inserts nothing")
    func unknownType() async throws {
        let dir = try TempDir()
        let result = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "nope", "--payload", "{}", "--tenant", "acme"], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("unknown job type 'nope'"), "\(result)")
        #expect(result.stdout.isEmpty)
        // Checked before the store is touched: no file, so certainly no row.
        #expect(!FileManager.default.fileExists(atPath: dir.file("store.sqlite")))

        // With an existing store, the table stays empty.
        #expect(try await CLI.run(["migrate", "--store", dir.storeURL()], in: dir).status == 0)
        let again = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "nope", "--payload", "{}", "--tenant", "acme"], in: dir)
        #expect(again.status == 1)
        let store = try await openStore(dir)
        #expect(try await store.jobs(JobFilter()).isEmpty)
    }

    @Test("enqueue of a malformed or mistyped payload: exit 1, a clear message, no values echoed")
    func malformedPayload() async throws {
        let dir = try TempDir()
        #expect(try await CLI.run(["migrate", "--store", dir.storeURL()], in: dir).status == 0)
        let notJSON = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.email",
                                         "--payload", #"{"to": "a@b.example", "secret": "s3cr3t-PLANTED""#, "--tenant", "acme"], in: dir)
        #expect(notJSON.status == 1, "\(notJSON)")
        #expect(notJSON.stderr.contains("payload does not decode as demo.email"), "\(notJSON)")
        #expect(notJSON.stderr.contains("malformed JSON"), "\(notJSON)")
        #expect(!notJSON.stderr.contains("s3cr3t-PLANTED"))

        let wrongShape = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.email",
                                            "--payload", #"{"to": 42, "subject": "hi", "secret": "s3cr3t-PLANTED"}"#, "--tenant", "acme"], in: dir)
        #expect(wrongShape.status == 1)
        #expect(wrongShape.stderr.contains("'to'"), "\(wrongShape)")
        #expect(!wrongShape.stderr.contains("s3cr3t-PLANTED"))

        let missing = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.payment",
                                         "--payload", #"{"from": "acct-1"}"#, "--tenant", "acme"], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("missing key"), "\(missing)")

        let store = try await openStore(dir)
        #expect(try await store.jobs(JobFilter()).isEmpty)
    }

    @Test("usage errors exit 2 with usage help on stderr")
    func usageErrors() async throws {
        let dir = try TempDir()
        let noTenant = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.noop", "--payload", "{}"], in: dir)
        #expect(noTenant.status == 2, "\(noTenant)")
        #expect(noTenant.stderr.contains("--tenant") && noTenant.stderr.contains("--system"))

        let badTenant = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.noop", "--payload", "{}", "--tenant", "@evil"], in: dir)
        #expect(badTenant.status == 2, "\(badTenant)")

        let badPriority = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.noop", "--payload", "{}", "--system", "--priority", "12"], in: dir)
        #expect(badPriority.status == 2)

        let badTime = try await CLI.run(["enqueue", "--store", dir.storeURL(), "--type", "demo.noop", "--payload", "{}", "--system", "--run-at", "tomorrow"], in: dir)
        #expect(badTime.status == 2)
        #expect(badTime.stderr.contains("ISO 8601"))

        let unknownFlag = try await CLI.run(["stats", "--bogus"], in: dir)
        #expect(unknownFlag.status == 2)

        let noJobTypes = try await CLI.run(["worker", "--store", dir.storeURL()], in: dir)
        #expect(noJobTypes.status == 2)
        #expect(noJobTypes.stderr.contains("--demo-jobs"))

        let badState = try await CLI.run(["jobs", "list", "--store", dir.storeURL(), "--state", "sleeping"], in: dir)
        #expect(badState.status == 2)
        #expect(badState.stderr.contains("unknown state 'sleeping'"))

        let requeueWithoutWho = try await CLI.run(["dlq", "requeue", "1", "--store", dir.storeURL(), "--reason", "x"], in: dir)
        #expect(requeueWithoutWho.status == 2)

        #expect(!FileManager.default.fileExists(atPath: dir.file("store.sqlite")), "usage errors create no store")

        let help = try await CLI.run(["--help"], in: dir)
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: surety"))
    }

    @Test("store URLs: unsupported schemes, a missing folder, a missing file, a garbage file")
    func badStores() async throws {
        let dir = try TempDir()
        // Port 1 on the loopback refuses connections: a clear error at once, not a hang.
        let postgres = try await CLI.run(["stats", "--store", "postgres://127.0.0.1:1/surety"], in: dir, timeout: .seconds(30))
        #expect(postgres.status == 1)
        #expect(postgres.stderr.contains("cannot connect to the PostgreSQL server at 127.0.0.1:1"), "\(postgres)")
        let malformed = try await CLI.run(["stats", "--store", "postgres:///surety"], in: dir)
        #expect(malformed.status == 2, "\(malformed)")

        let mysql = try await CLI.run(["stats", "--store", "mysql://localhost/surety"], in: dir)
        #expect(mysql.status == 2)
        #expect(mysql.stderr.contains("unsupported store scheme 'mysql'"), "\(mysql)")

        let missingFolder = try await CLI.run(["migrate", "--store", "sqlite:" + dir.file("no/such/folder/s.sqlite")], in: dir)
        #expect(missingFolder.status == 1, "\(missingFolder)")
        #expect(missingFolder.stderr.contains("does not exist"), "\(missingFolder)")

        let missingFile = try await CLI.run(["jobs", "list", "--store", dir.storeURL("absent.sqlite")], in: dir)
        #expect(missingFile.status == 1, "\(missingFile)")
        #expect(missingFile.stderr.contains("no store at"), "\(missingFile)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.sqlite")), "reading never creates a store")

        let garbage = dir.file("garbage.sqlite")
        _ = FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 0x5A, count: 8192))
        for arguments in [["stats"], ["jobs", "list"], ["migrate"], ["enqueue", "--type", "demo.noop", "--payload", "{}", "--system"],
                          ["worker", "--demo-jobs"]] {
            let result = try await CLI.run(arguments + ["--store", "sqlite:" + garbage], in: dir, timeout: .seconds(30))
            #expect(result.status == 1, "\(arguments): \(result)")
            #expect(result.stderr.contains("error: cannot"), "\(arguments): \(result)")
            #expect(result.stderr.lowercased().contains("not a database") || result.stderr.contains("store_corrupt"), "\(arguments): \(result)")
        }

        let directory = try await CLI.run(["stats", "--store", "sqlite:" + dir.path], in: dir)
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("is a directory"))
    }

    @Test("SURETY_STORE is the fallback store URL")
    func environmentStore() async throws {
        let dir = try TempDir()
        let env = ["SURETY_STORE": dir.storeURL("from-env.sqlite")]
        #expect(try await CLI.run(["migrate"], in: dir, environment: env).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("from-env.sqlite")))
        let bad = try await CLI.run(["stats"], in: dir, environment: ["SURETY_STORE": "redis://x"])
        #expect(bad.status == 2)
        // Without either, the default is surety.sqlite in the working folder.
        #expect(try await CLI.run(["migrate"], in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("surety.sqlite")))
    }

    @Test("a stored payload that is not JSON goes to the inbox as undecodable_payload; requeue refuses it without --force")
    func undecodablePayloadRow() async throws {
        let dir = try TempDir()
        let url = dir.storeURL()
        let enqueue = try await CLI.run(["enqueue", "--store", url, "--type", "demo.noop", "--payload", "{}", "--tenant", "acme", "--json"], in: dir)
        let id = try enqueuedID(enqueue)
        let store = try await openStore(dir)
        // Damage the row behind the store's back, as a bad migration or a hand edit would.
        try await store.database.write { db in
            try db.execute(sql: "UPDATE surety_jobs SET payload = ? WHERE id = ?", arguments: ["{\"unterminated", id.rawValue])
        }

        let worker = try SuretyProcess(["worker", "--store", url, "--demo-jobs", "--poll-interval-ms", "100", "--worker-id", "w1"], in: dir, name: "worker")
        defer { worker.killIfRunning() }
        try await eventually("the job is dead") { try await store.job(id)?.state == .dead }
        worker.send(SIGTERM)
        #expect(try await worker.waitForExit() == 0)

        let job = try #require(try await store.job(id))
        #expect(job.deadReason == .undecodablePayload)
        #expect(job.attempt == 1, "not retried")
        let attempts = try await store.attempts(of: id)
        #expect(attempts.count == 1)
        #expect(attempts.first?.outcome == .failed)
        #expect(attempts.first?.error?.errorClass == .permanent)

        let show = try await CLI.run(["dlq", "show", "\(id)", "--store", url], in: dir)
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("undecodable_payload"))
        #expect(show.stdout.contains("[REDACTED: payload is not valid JSON]") || show.stdout.contains("REDACTED"), "\(show)")
        #expect(!show.stdout.contains("unterminated"))

        let refused = try await CLI.run(["dlq", "requeue", "\(id)", "--store", url, "--by", "ops", "--reason", "try again", "--json"], in: dir)
        #expect(refused.status == 1, "\(refused)")
        let refusal = try refused.json()
        #expect((refusal["changed"] as? [Int]) == [])
        let skipped = try #require(refusal["skipped"] as? [[String: Any]])
        #expect((skipped.first?["reason"] as? String)?.contains("undecodable_payload") == true)
        #expect(try await store.job(id)?.state == .dead)
        #expect(try await store.audit(of: id).isEmpty)

        let forced = try await CLI.run(["dlq", "requeue", "\(id)", "--store", url, "--by", "ops", "--reason", "payload repaired", "--force"], in: dir)
        #expect(forced.status == 0, "\(forced)")
        #expect(try await store.job(id)?.state == .available)
        #expect(try await store.audit(of: id).map(\.action) == ["requeue"])
    }
}
