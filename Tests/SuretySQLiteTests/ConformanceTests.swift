import Surety
import SuretySQLite
import SuretyTesting
import Synchronization
import Testing

@Suite("SQLite store conformance")
struct SQLiteConformanceTests {
    @Test("the SQLite store passes every conformance group", arguments: StoreConformance.Group.allCases)
    func conformance(group: StoreConformance.Group) async throws {
        // Keeps each group's file alive until the group ends; the folder is removed afterwards.
        let files = FileKeeper()
        try await StoreConformance {
            let temp = try await TempStore()
            files.keep(temp)
            return temp.store
        }.run(group)
    }
}

/// Holds temporary stores for the duration of a test.
final class FileKeeper: Sendable {
    private let stores = Mutex<[TempStore]>([])
    func keep(_ store: TempStore) { stores.withLock { $0.append(store) } }
}
