// Workflows (docs/workflows.md), the API beyond declaring a graph: a step that charges and hands
// its receipt on in the same transaction as its completion, a compensation that refunds with the
// charge's own idempotency key, a step telling "no result" from "not finished", reading and
// paging workflows, and enqueueing a batch. Every build compiles this file; the full program is
// Examples/Workflows.
import Foundation
import GRDB
import Surety
import SuretySQLite

/// A payment provider that honours idempotency keys.
struct Payments: Sendable {
    func charge(_ amount: Int, idempotencyKey: String) async throws -> Receipt { Receipt(chargeID: "ch_1", amount: amount) }
    func lookup(idempotencyKey: String) async throws -> Receipt? { nil }
    func refund(chargeID: String, idempotencyKey: String) async throws -> Receipt { Receipt(chargeID: chargeID, amount: 0) }
}

struct Receipt: Codable, Sendable {
    var chargeID: String
    var amount: Int
}

// snippet.charge-step
struct ChargeOrder: Job {
    static let name = "shop.charge-order"
    var orderID: String
    var amount: Int

    func run(_ context: JobContext) async throws {
        let payments = try context.dependency(Payments.self)
        let store = try context.dependency(SQLiteStore.self)
        let receipt = try await context.effect("charge", key: orderID) { key in
            try await payments.charge(amount, idempotencyKey: key)
        }
        // The receipt, the order's update and the completion commit in ONE transaction; the
        // steps after this one are released in it too, so they never run without the receipt.
        let orderID = self.orderID
        try await store.complete(context, stepResult: receipt) { db in
            try db.execute(sql: "UPDATE orders SET state = 'paid' WHERE id = ?", arguments: [orderID])
        }
    }
}
// snippet.end

// snippet.refund-compensation
struct RefundOrder: Job {
    static let name = "shop.refund-order"
    var orderID: String

    func run(_ context: JobContext) async throws {
        let payments = try context.dependency(Payments.self)
        // No store read: the workflow and step this job runs for, from its correlation IDs.
        context.logger.info("compensating", metadata: [
            "workflow": "\(context.workflowID.map { "\($0)" } ?? "-")", "step": "\(context.workflowStepName ?? "-")",
        ])
        // The charge step's own ledger record: the idempotency key the provider saw, and its receipt.
        guard let charge = try await context.stepEffect("charge", key: orderID, ofStep: "charge", as: Receipt.self) else {
            return  // the charge never started: nothing to refund
        }
        var receipt = charge.result
        if charge.isInDoubt {
            // Started, never confirmed: ask the provider by the same key.
            receipt = try await payments.lookup(idempotencyKey: charge.idempotencyKey)
        }
        guard let receipt else { return }  // it did not happen
        _ = try await context.effect("refund", key: orderID) { key in
            try await payments.refund(chargeID: receipt.chargeID, idempotencyKey: key)
        }
    }
}
// snippet.end

struct WrapGift: Job {
    static let name = "shop.wrap-gift"
    var orderID: String

    func run(_ context: JobContext) async throws {
        try await context.setStepResult("with a card")
    }
}

struct ShipOrder: Job {
    static let name = "shop.ship-order"
    var orderID: String

    func run(_ context: JobContext) async throws {
        // snippet.outcome
        // A parent has completed when this runs: nil only if it set no result.
        let receipt = try await context.stepResult("charge", as: Receipt.self)
        // Any step (here a sibling), in any state: tells "completed without a result" from
        // "not completed".
        let gift = try await context.stepOutcome("wrap-gift", as: String.self)
        switch gift.state {
        case .completed: context.logger.info("gift wrapped", metadata: ["note": "\(gift.result ?? "none")"])
        case .waiting, .active: context.logger.info("gift wrapping still running")
        default: context.logger.info("no gift wrapping", metadata: ["state": "\(gift.state.rawValue)"])
        }
        // snippet.end
        context.logger.info("shipping", metadata: ["charge": "\(receipt?.chargeID ?? "-")"])
    }
}

// snippet.read
/// Every failed workflow of a tenant, newest first, a page at a time.
func failedWorkflows(_ queue: JobQueue, tenant: TenantID) async throws -> [WorkflowRecord] {
    var filter = WorkflowFilter(states: [.failed], tenants: [tenant], limit: 100)
    var found: [WorkflowRecord] = []
    while true {
        let page = try await queue.workflows(filter)
        found += page
        guard page.count == filter.limit, let last = page.last else { return found }
        filter.beforeID = last.id  // the next page: ids below the last one seen
    }
}
// snippet.end

// snippet.batch
/// One workflow per order, all in one transaction; an order already in flight keeps its workflow.
func fulfil(_ orders: [(id: String, amount: Int)], queue: JobQueue, tenant: TenantID) async throws -> [EnqueuedWorkflow] {
    let workflows = try orders.map { order in
        var workflow = try Workflow("fulfil-order", uniqueKey: "fulfil:\(order.id)")
        try workflow.step("charge", ChargeOrder(orderID: order.id, amount: order.amount))
        try workflow.step("wrap-gift", WrapGift(orderID: order.id), after: ["charge"])
        try workflow.step("ship", ShipOrder(orderID: order.id), after: ["charge"])
        try workflow.compensation("refund", RefundOrder(orderID: order.id))
        return workflow
    }
    return try await queue.enqueue(workflows, tenant: tenant)  // one answer per workflow, in order
}
// snippet.end
