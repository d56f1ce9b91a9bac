import Surety
import SuretyTesting
import Testing

@Suite("Memory store conformance")
struct MemoryStoreConformanceTests {
    @Test("the memory store passes every conformance group", arguments: StoreConformance.Group.allCases)
    func conformance(group: StoreConformance.Group) async throws {
        try await StoreConformance { MemoryStore() }.run(group)
    }
}
