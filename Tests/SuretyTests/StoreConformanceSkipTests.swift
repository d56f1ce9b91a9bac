import Foundation
import Surety
import SuretyTesting
import Synchronization
import Testing

/// A store with the runtime contract and operators' reads and actions, and no other capability:
/// every call goes to a memory store.
private struct BasicStore: ForwardingMemoryStore {
    let base = MemoryStore()
}

/// A store that lists expired leases newest first and returns claimed jobs in reverse order: the
/// contract groups that check those orders must fail on it.
private struct MisorderingStore: ForwardingMemoryStore {
    let base = MemoryStore()
    func claim(_ request: ClaimRequest) async throws -> [ClaimedJob] { try await base.claim(request).reversed() }
    func expiredLeases(now: Date, limit: Int) async throws -> [ExpiredLease] {
        try await base.expiredLeases(now: now, limit: Int.max).reversed().prefix(limit).map { $0 }
    }
}

/// A store with the runtime contract only.
private struct RuntimeOnlyStore: ForwardingRuntimeStore {
    let base = MemoryStore()
}

@Suite("Store conformance skips what a store does not provide")
struct StoreConformanceSkipTests {
    @Test("a store without the capabilities passes the groups it can run and skips, and reports, the others")
    func basicStoreSkipsCapabilityGroups() async throws {
        let reported = Mutex<[StoreConformance.Outcome]>([])
        let suite = StoreConformance(report: { outcome in reported.withLock { $0.append(outcome) } }) { BasicStore() }
        let outcomes = try await suite.run()
        #expect(outcomes.map(\.group) == StoreConformance.Group.allCases)
        #expect(reported.withLock { $0 } == outcomes)

        let byGroup = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.group, $0) })
        let flowGroups: [StoreConformance.Group] = [.concurrencyLimits, .orderedExecution, .rateLimits, .fairness, .loadShedding]
        for group in flowGroups {
            #expect(byGroup[group]?.missing == [.flowControl])
            #expect(byGroup[group]?.description == "store conformance [\(group.rawValue)]: skipped: the store does not provide FlowControlStore")
        }
        #expect(byGroup[.effects]?.missing == [.effectLedger])
        #expect(byGroup[.effectFencing]?.missing == [.effectLedger])
        #expect(byGroup[.effectResolution]?.missing == [.effectLedger])
        #expect(byGroup[.alerts]?.missing == [.alertObservations, .alertState])
        #expect(byGroup[.retention]?.missing == [.retention])
        #expect(byGroup[.runningCancellation]?.missing == [.cancelRequests])
        #expect(byGroup[.schedules]?.missing == [.schedules])
        #expect(byGroup[.statistics]?.missing == [.statistics])
        #expect(byGroup[.workflows]?.missing == [.workflows])

        // The groups of the contract itself ran and passed.
        let ran: [StoreConformance.Group] = [
            .enqueueAndUniqueKeys, .claimAndLease, .priorities, .heartbeatAndRescue, .rescueOrder, .fencing, .finishBatches,
            .retryAndDeadLetter, .requeueAndAudit, .tenancy, .cancellation, .queries, .concurrencyRaces, .maintenanceLeadership,
            .traceContext, .deadLetterFilters, .hostileInput,
        ]
        #expect(Set(ran).union(byGroup.filter { $0.value.skipped }.keys) == Set(StoreConformance.Group.allCases))
        for group in ran { #expect(byGroup[group]?.skipped == false, "\(group.rawValue) ran") }
        // Hostile input ran, without the sections of the capabilities the store lacks.
        let parts = byGroup[.hostileInput]?.skippedParts ?? []
        #expect(parts.count == 4)
        #expect(parts.contains("the 'queue limits' section (the store does not provide FlowControlStore)"))
        #expect(byGroup[.claimAndLease]?.description == "store conformance [claim and lease]: passed")
    }

    @Test("a store with the runtime contract only skips every group, each reported, and fails none")
    func runtimeOnlyStoreSkipsEverything() async throws {
        let outcomes = try await StoreConformance(report: { _ in }) { RuntimeOnlyStore() }.run()
        #expect(outcomes.count == StoreConformance.Group.allCases.count)
        #expect(outcomes.allSatisfy { $0.skipped && $0.missing.starts(with: [.inspection, .operatorActions]) })
        #expect(outcomes.first?.description == "store conformance [enqueue and unique keys]: skipped: the store does not provide JobInspectionStore, OperatorActionStore")
    }

    @Test("JobQueue.cancel on a store without operator actions is refused with invalid_argument, and the job still waits")
    func cancelWithoutOperatorActionsIsRefused() async throws {
        let store = RuntimeOnlyStore()
        let queue = JobQueue(store: store, registry: JobRegistry([SucceedingJob.self]))
        let id = try await queue.enqueue(SucceedingJob(note: "kept"), tenant: TenantID("acme")).id
        do {
            _ = try await queue.cancel([id], by: "test", reason: "no operator actions here")
            Issue.record("cancel went through a store without OperatorActionStore")
        } catch let error as SuretyError {
            #expect(error.code == .invalidArgument)
            #expect(error.description.contains("OperatorActionStore"))
        }
        #expect(try await store.base.job(id)?.state == .available)
    }

    @Test("the memory store provides every capability: no group is skipped")
    func memoryStoreSkipsNothing() async throws {
        let store = MemoryStore()
        for capability in StoreConformance.Capability.allCases where capability != .maintenanceLeadership {
            #expect(capability.isProvided(by: store), "\(capability.protocolName)")
        }
        #expect(!StoreConformance.Capability.maintenanceLeadership.isProvided(by: store))
        #expect(!StoreConformance.Capability.inspection.isProvided(by: RuntimeOnlyStore()))
    }

    @Test("the moved contract checks fail a store that breaks them", arguments: [StoreConformance.Group.priorities, .rescueOrder])
    func movedChecksCanFail(group: StoreConformance.Group) async throws {
        await #expect(throws: ConformanceFailure.self) {
            try await StoreConformance(report: { _ in }) { MisorderingStore() }.run(group)
        }
    }
}
