// Tenancy: the tenant is part of a job's identity, restored from the stored row on every attempt.
import Surety

/// An invoice of the application, owned by one tenant.
struct Invoice: Sendable { var id: String; var tenant: TenantID }

/// The application's invoices.
struct Invoices: Sendable {
    func find(_ id: String) async throws -> Invoice { Invoice(id: id, tenant: try TenantID("acme")) }
}

struct ArchiveInvoice: Job {
    static let name = "billing.archive-invoice"
    var invoiceID: String
    func run(_ context: JobContext) async throws {}
}

// snippet.guard
struct SendInvoice: Job {
    static let name = "billing.send-invoice"
    var invoiceID: String

    func run(_ context: JobContext) async throws {
        // `context.tenant` (also `Tenant.current`) comes from the stored job, never from worker state.
        let invoice = try await context.dependency(Invoices.self).find(invoiceID)
        try Tenant.require(invoice.tenant)   // throws tenantMismatch for another tenant's invoice

        // A follow-up runs in the same tenant; another tenant is an explicit call.
        try await context.enqueue(ArchiveInvoice(invoiceID: invoiceID))
    }
}
// snippet.end

// snippet.fairness
struct BuildReport: Job {
    static let name = "reports.build"
    // Per-key limits and fairness count by tenant: one tenant's flood does not starve the others.
    static let options = JobOptions(queue: "reports", partitionByTenant: true)
    func run(_ context: JobContext) async throws {}
}
// snippet.end

let queue = JobQueue(store: MemoryStore(), registry: JobRegistry([SendInvoice.self, ArchiveInvoice.self, BuildReport.self]))
// snippet.enqueue
let acme = try TenantID("acme")                                     // validated: 1 to 128 characters, not starting with @
try await queue.enqueue(SendInvoice(invoiceID: "inv-7"), tenant: acme)
try await queue.enqueue(BuildReport(), tenant: .system)             // work that belongs to no customer, said so
// Unique keys are scoped by tenant: the same key in another tenant is another job.
let options = EnqueueOptions(uniqueKey: "report:2027-01")
let first = try await queue.enqueue(BuildReport(), tenant: acme, options: options)
let other = try await queue.enqueue(BuildReport(), tenant: try TenantID("globex"), options: options)
assert(first.inserted && other.inserted)
// snippet.end
