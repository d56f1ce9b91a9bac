import Foundation
import PostgresNIO
import Surety
@testable import SuretyPostgres
import Testing

@Suite("PostgreSQL enqueue connection", .enabled(if: TestServer.enabled, "set SURETY_TEST_POSTGRES_URL (scripts/postgres.sh start DIR prints one)"))
struct EnqueueConnectionTests {
    @Test("a store's own enqueue connection that the server closed is replaced: an enqueue fails at most once, none hangs, and every reported job is stored")
    func replacedAfterTermination() async throws {
        // An enqueue written to the terminated connection may never be answered by postgres-nio
        // (it hung this test once, in a full run): the store stops waiting after 5 s, within the
        // test's 10 s bound, and reports the enqueue failed.
        try await TestServer.withFreshStore(operationTimeout: .seconds(5)) { store in
            // The first enqueue goes through the pool and opens the store's own connection.
            _ = try await withTimeout(10, "the first enqueue") { try await store.enqueue([.test()]) }
            let first = try #require(try await store.enqueueConnectionBackendPID(), "the enqueue connection was opened")
            _ = try await withTimeout(10, "an enqueue on the store's own connection") { try await store.enqueue([.test()]) }
            try await store.client.query("SELECT pg_terminate_backend(\(first))")

            var reported = 2
            var failures = 0
            var replacement: Int32?
            for _ in 0..<20 {
                do {
                    _ = try await withTimeout(10, "an enqueue after the connection was closed") { try await store.enqueue([.test()]) }
                    reported += 1
                } catch let error as SuretyError {
                    #expect(error.code == .storeUnavailable, "\(error)")
                    failures += 1
                }
                // The probe itself may meet the closed connection (and drop it): not a failure.
                if let pid = (try? await store.enqueueConnectionBackendPID()) ?? nil, pid != first {
                    replacement = pid
                    break
                }
            }
            #expect(replacement != nil, "a new enqueue connection was opened")
            #expect(failures <= 1, "at most the enqueue that met the closed connection failed (\(failures))")
            let stored = try await store.client.query("SELECT count(*) FROM surety_jobs").collect { try $0[0].decode(Int.self) }.first
            #expect(stored == reported, "every enqueue reported done is stored, and no failed one is")
        }
    }
}
