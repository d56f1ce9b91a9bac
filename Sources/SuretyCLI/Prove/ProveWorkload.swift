import Foundation
import Surety

/// A prove scenario's jobs: charges (the provider honours their keys), notifications (it does
/// not), two-step workflows of charges, and, for the requeue point, jobs that die once. Every
/// job carries a unique key held for ever, its tenant, and the tenant the provider must see.
struct ProveWorkload: Sendable {
    static let tenants = ["acme", "globex", "initech"]

    struct Line: Sendable {
        var type: String
        var payload: String
        var tenant: TenantID
        var uniqueKey: String
        var options: EnqueueOptions { EnqueueOptions(uniqueKey: uniqueKey, uniqueScope: .forever) }
    }

    struct Flow: Sendable {
        var workflow: Workflow
        var tenant: TenantID
    }

    var lines: [Line] = []
    var workflows: [Flow] = []

    init(provider: String, random: inout ProveRandom, jobs: Int, deadOnce: Bool, workflowHeavy: Bool) {
        for index in 0..<jobs {
            let tenantName = Self.tenants.randomElement(using: &random)!
            let tenant = try! TenantID(tenantName)
            let key = "prove-\(index + 1)"
            if deadOnce && index % 3 == 0 {
                lines.append(Line(type: ProveOnceDead.name, payload: Self.encode(ProveOnceDead(provider: provider, tenant: tenantName)), tenant: tenant, uniqueKey: key))
            } else if index % 2 == 0 {
                let amount = Int.random(in: 1...500, using: &random)
                lines.append(Line(type: ProveCharge.name, payload: Self.encode(ProveCharge(provider: provider, tenant: tenantName, amount: amount)), tenant: tenant, uniqueKey: key))
            } else {
                lines.append(Line(type: ProveNotify.name, payload: Self.encode(ProveNotify(provider: provider, tenant: tenantName)), tenant: tenant, uniqueKey: key))
            }
        }
        // Workflows: a first charge, then a second released when it completes.
        for index in 0..<(workflowHeavy ? jobs : max(2, jobs / 6)) {
            let tenantName = Self.tenants.randomElement(using: &random)!
            var workflow = try! Workflow("prove-flow-\(index + 1)")
            try! workflow.step("first", ProveCharge(provider: provider, tenant: tenantName, amount: 10))
            try! workflow.step("second", ProveCharge(provider: provider, tenant: tenantName, amount: 20), after: ["first"])
            workflows.append(Flow(workflow: workflow, tenant: try! TenantID(tenantName)))
        }
    }

    static func encode<J: Job>(_ job: J) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(job), as: UTF8.self)
    }

    /// The lines as `surety enqueue --file` takes them (workflows are not in the file).
    func jsonLines() -> String {
        lines.map { line in
            "{\"type\":\"\(line.type)\",\"payload\":\(line.payload),\"tenant\":\"\(line.tenant.rawValue)\",\"unique_key\":\"\(line.uniqueKey)\",\"unique_scope\":\"forever\"}"
        }.joined(separator: "\n") + "\n"
    }
}
